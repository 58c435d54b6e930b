"""Evaluating a checkpoint: prompts -> one batched backend call -> scores -> results files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.result_paths import new_results_file
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.inference.backends import BackendConfig, InferenceBackend, create_backend
from tokenized_cot_icl.inference.options import EvalOptions, PromptCase, max_new_tokens
from tokenized_cot_icl.inference.scoring import summary_metrics
from tokenized_cot_icl.inference.target import EvalTarget
from tokenized_cot_icl.prompts.strategies import strategy_for
from tokenized_cot_icl.training.scoring import PromptScore, ScoreTally, Summary, score_continuations, summarise

__all__ = ["EvalResult", "backend_config", "evaluate_cases", "open_backend", "write_results"]


@dataclass
class EvalResult:
    options: EvalOptions
    summary: Summary
    cases: list[PromptCase]
    outputs: list[list[list[int]]]  # outputs[i][j]: sample j of prompt i (forced token included)
    scores: list[PromptScore]
    seconds: float
    tally: ScoreTally

    @property
    def prompts_per_second(self) -> float:
        return len(self.cases) / self.seconds if self.seconds > 0 else float("inf")

    def metrics(self) -> dict[str, float]:
        """The headline numbers under their results-file keys (``accuracy``, ``format_accuracy``, ...)."""
        return summary_metrics(self.summary, len(self.cases), self.seconds)

    def eval_metrics(self) -> dict[str, float]:
        """The numbers under the trainer's names (``eval/answer_accuracy``, ...: ``training.scoring``)."""
        return self.tally.metrics()

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
    strategy, vocab = strategy_for(args), Vocab.for_args(args)
    stops = [vocab.special.eos] if vocab.special is not None else []
    forced_len = max((len(c.forced) for c in cases), default=0)
    budget = max(1, max_new_tokens(args, options) - forced_len)
    generated, seconds = options.generate(backend, [c.prompt for c in cases], max_tokens=budget, stop_token_ids=stops)
    outputs = [[c.forced + g for g in gens] for c, gens in zip(cases, generated)]
    # the trainer's scoring: the same numbers under the same names (training.scoring)
    scores = [
        score_continuations(outs, c.label_tokens, c.chain_length, strategy, vocab) for c, outs in zip(cases, outputs)
    ]
    tally = ScoreTally.for_args(args)
    for score in scores:
        tally.add(score)
    return EvalResult(options, summarise(scores), cases, outputs, scores, seconds, tally)


def backend_config(target: EvalTarget, options_list: list[EvalOptions], **kwargs) -> BackendConfig:
    max_len = kwargs.pop("max_model_len", None) or target.max_model_len(options_list)
    return BackendConfig(model_dir=target.checkpoint_dir, max_model_len=max_len, **kwargs)


def open_backend(name: str, target: EvalTarget, options_list: list[EvalOptions], **kwargs) -> InferenceBackend:
    return create_backend(name, backend_config(target, options_list, **kwargs))


def write_results(
    target: EvalTarget, backend_name: str, result: EvalResult, directory: Optional[Path] = None, tag: str = ""
) -> tuple[Path, Path]:
    """``<run>/eval_results/<backend>-ckpt<checkpoint>[-tag]-<time>-<pid>-<random>.json`` and ``.jsonl``
    (per prompt), under a name no concurrent command shares (``foundation.result_paths``).

    The summary's ``metrics`` holds the numbers under the trainer's names (``eval/answer_accuracy``,
    ``eval/accuracy_chain_index_<c>``, ``eval/format_accuracy``, ...); ``accuracy`` (= ``eval/answer_accuracy``)
    and ``format_accuracy`` (well-formed outputs, every prompt format) stay for existing readers.
    """
    directory = Path(directory) if directory else RunDir(target.run_dir).results_dir
    prefix = "-".join(p for p in (backend_name, f"ckpt{target.checkpoint}", tag) if p)
    stem, fh = new_results_file(directory, prefix, ".jsonl")  # a stem no concurrent command shares
    summary_path, records_path = stem.with_name(f"{stem.name}.json"), stem.with_name(f"{stem.name}.jsonl")
    with fh:
        for record in result.records():
            fh.write(json.dumps(record) + "\n")
    summary = {
        "backend": backend_name,
        "run_dir": str(target.run_dir),
        "checkpoint": target.checkpoint,
        "checkpoint_dir": str(target.checkpoint_dir),
        **target.weights_record(),  # verified: whether a manifest vouched for the weights (foundation.weights)
        "eval_set": target.eval_set_source,
        "metrics": result.eval_metrics(),
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
