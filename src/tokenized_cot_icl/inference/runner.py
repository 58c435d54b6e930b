"""Evaluating a checkpoint: prompts -> one batched backend call -> scores -> results files."""

from __future__ import annotations

import datetime as _dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.data.special_tokens import SpecialTokens
from tokenized_cot_icl.inference.backends import BackendConfig, InferenceBackend, create_backend
from tokenized_cot_icl.inference.options import EvalOptions, PromptCase, max_new_tokens
from tokenized_cot_icl.inference.run_dir import (
    check_vocabulary,
    find_eval_set,
    load_run_args,
    resolve_checkpoint,
)
from tokenized_cot_icl.inference.scoring import AnswerFormat, PromptScore, Summary, score_prompt, summarise

RESULTS_DIR = "eval_results"
# Flags that regenerate the evaluation set from the run's Args with these fields replaced.
DATA_OVERRIDES = ("n_inputs", "n_parents", "chain_length", "n_examples", "num_unique_H")


@dataclass
class EvalResult:
    options: EvalOptions
    summary: Summary
    cases: list[PromptCase]
    outputs: list[list[list[int]]]  # outputs[i][j]: sample j of prompt i (forced token included)
    scores: list[PromptScore]
    seconds: float

    @property
    def prompts_per_second(self) -> float:
        return len(self.cases) / self.seconds if self.seconds > 0 else float("inf")

    def metrics(self) -> dict[str, float]:
        return {
            "accuracy": self.summary.accuracy,
            "format_accuracy": self.summary.format_accuracy,
            "n_prompts": float(self.summary.n_prompts),
            "prompts_per_second": self.prompts_per_second,
        }

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "index": c.index,
                "prompt": c.prompt,
                "forced": c.forced,
                "outputs": o,
                "prediction": s.prediction,
                "label": s.label,
                "label_tokens": c.label_tokens,
                "correct": s.correct,
                "n_well_formed": s.n_well_formed,
            }
            for c, o, s in zip(self.cases, self.outputs, self.scores)
        ]


def evaluate_cases(backend: InferenceBackend, cases: list[PromptCase], args: Args, options: EvalOptions) -> EvalResult:
    """Scores ``cases``: ALL prompts go to the backend in one ``generate`` call."""
    fmt = AnswerFormat.for_args(args)
    stops = [SpecialTokens.for_vocab(args.vocab_size).eos] if args.enable_special_tokens else []
    forced_len = max((len(c.forced) for c in cases), default=0)
    budget = max(1, max_new_tokens(args, options) - forced_len)
    start = time.perf_counter()
    generated = backend.generate(
        [c.prompt for c in cases],
        max_tokens=budget,
        n=options.n_samples,
        temperature=options.temperature,
        stop_token_ids=stops,
        seed=options.seed,
    )
    seconds = time.perf_counter() - start
    outputs = [[c.forced + g for g in gens] for c, gens in zip(cases, generated)]
    scores = [score_prompt(o, c.answer, fmt, len(c.label_tokens)) for c, o in zip(cases, outputs)]
    return EvalResult(options, summarise(scores), cases, outputs, scores, seconds)


@dataclass
class EvalTarget:
    """A checkpoint of a run and the evaluation set to score it on."""

    run_dir: Path
    checkpoint: str
    checkpoint_dir: Path
    args: Args  # the evaluation set's Args
    dataset: Any
    eval_set_source: str
    model_config: dict = field(default_factory=dict)

    def max_model_len(self, options_list: list[EvalOptions]) -> int:
        longest = max((len(self.dataset[i]["cot_eval"]["input_ids"]) for i in range(len(self.dataset))), default=1)
        budget = max(max_new_tokens(self.args, o) for o in options_list) + 1
        limit = int(self.model_config.get("max_position_embeddings") or 0)
        need = longest + budget + 1
        if limit and need > limit:
            raise ValueError(
                f"prompts need {need} positions but the model allows max_position_embeddings={limit}; "
                "evaluate on shorter prompts (fewer --n_examples) or fewer --max_tokens"
            )
        return need


def load_target(
    model_base_dir: str | Path,
    checkpoint: str = "final",
    *,
    eval_set: Optional[str | Path] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    n_eval_tasks: Optional[int] = None,
    progress: bool = True,
) -> EvalTarget:
    """Resolves the run, checkpoint and evaluation set (saved, given, or generated)."""
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import load_eval_set

    run_dir = Path(model_base_dir).expanduser()
    run_args = load_run_args(run_dir)
    ckpt_dir = resolve_checkpoint(run_dir, checkpoint)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(DATA_OVERRIDES))
    if unknown:
        raise ValueError(f"cannot override {unknown}; evaluation-set overrides are {list(DATA_OVERRIDES)}")
    if eval_set is not None and overrides:
        raise ValueError(f"give either --eval_set or data flags {sorted(overrides)}, not both")

    if eval_set is not None:
        dataset = load_eval_set(eval_set)
        source = str(eval_set)
    elif overrides:
        if overrides.get("num_unique_H", -1) != -1:
            overrides["ablation_fixed_H"] = True
        args = run_args.replace(**overrides, n_eval_tasks=n_eval_tasks or run_args.n_eval_tasks)
        dataset = EvalTokenizedDataset(args, progress=progress)
        source = "generated: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    elif (saved := find_eval_set(run_dir)) is not None:
        dataset = load_eval_set(saved, args=run_args)
        source = str(saved)
    else:
        args = run_args.replace(n_eval_tasks=n_eval_tasks or run_args.n_eval_tasks)
        dataset = EvalTokenizedDataset(args, progress=progress)
        source = f"generated from {run_dir / 'args.json'} (the run saved no evaluation set)"
    if n_eval_tasks is not None and n_eval_tasks < len(dataset):
        dataset = _Head(dataset, n_eval_tasks)
    config = check_vocabulary(dataset.args, ckpt_dir, source)
    return EvalTarget(run_dir, str(checkpoint), ckpt_dir, dataset.args, dataset, source, config)


class _Head:
    """The first ``n`` items of a dataset (items are pure functions of their index)."""

    def __init__(self, dataset, n: int) -> None:
        self.dataset, self.n, self.args = dataset, n, dataset.args

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return self.dataset[index]


def backend_config(target: EvalTarget, options_list: list[EvalOptions], **kwargs) -> BackendConfig:
    max_len = kwargs.pop("max_model_len", None) or target.max_model_len(options_list)
    return BackendConfig(model_dir=target.checkpoint_dir, max_model_len=max_len, **kwargs)


def open_backend(name: str, target: EvalTarget, options_list: list[EvalOptions], **kwargs) -> InferenceBackend:
    return create_backend(name, backend_config(target, options_list, **kwargs))


def write_results(
    target: EvalTarget, backend_name: str, result: EvalResult, directory: Optional[Path] = None, tag: str = ""
) -> tuple[Path, Path]:
    """``<run>/eval_results/<backend>-<checkpoint>[-tag]-<timestamp>.json`` and ``.jsonl`` (per prompt)."""
    directory = Path(directory) if directory else target.run_dir / RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    stem = "-".join(p for p in (backend_name, f"ckpt{target.checkpoint}", tag, stamp) if p)
    summary_path, records_path = directory / f"{stem}.json", directory / f"{stem}.jsonl"
    with records_path.open("w") as fh:
        for record in result.records():
            fh.write(json.dumps(record) + "\n")
    summary = {
        "backend": backend_name,
        "run_dir": str(target.run_dir),
        "checkpoint": target.checkpoint,
        "checkpoint_dir": str(target.checkpoint_dir),
        "eval_set": target.eval_set_source,
        "accuracy": result.summary.accuracy,
        "format_accuracy": result.summary.format_accuracy,
        "n_prompts": result.summary.n_prompts,
        "n_correct": result.summary.n_correct,
        "seconds": result.seconds,
        "prompts_per_second": result.prompts_per_second,
        "options": result.options.to_dict(),
        "eval_args": target.args.to_dict(),
        "records_file": records_path.name,
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary_path, records_path
