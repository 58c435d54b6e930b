"""Evaluating a Hugging Face model directory on symbolic (word) prompts through the backend interface.

Prompts are rendered by the config's format (``chat``: the model directory's chat template;
``plain``: text for base models), encoded with the model directory's tokenizer and sent as token
ids to ONE ``generate`` call of any backend; continuations are decoded, parsed by the same
format (``\\boxed{}`` answer, ``Step i:`` lines, well-formedness), majority-voted and scored with
the token tasks' scoring. The evaluation options are the token evaluator's (:class:`EvalOptions`):
force the think block (``<think>``) or the answer (``\\boxed{``), n samples at a temperature,
drop the CoT of k demonstrations. The first sample's steps are labelled globally/locally correct
(:mod:`tokenized_cot_icl.prompts.word_steps`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from tokenized_cot_icl.data.symbolic import SymbolicDataset
from tokenized_cot_icl.foundation.result_paths import new_results_file
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.foundation.weights import CheckedWeights, check_weights
from tokenized_cot_icl.generator.words import SYMBOLIC_GENERATOR_VERSION
from tokenized_cot_icl.inference.backends import BackendConfig, InferenceBackend, create_backend
from tokenized_cot_icl.inference.options import EvalOptions
from tokenized_cot_icl.inference.scoring import summary_metrics
from tokenized_cot_icl.inference.target import model_config
from tokenized_cot_icl.prompts.symbolic import FORCED_TEXT, build_messages, cot_response, get_format
from tokenized_cot_icl.prompts.transformations import choose_demonstrations
from tokenized_cot_icl.prompts.word_steps import WordStepCheck, verify_word_steps
from tokenized_cot_icl.training.scoring import PromptScore, Summary, score_prompt, summarise


@dataclass(frozen=True)
class SymbolicCase:
    index: int
    prompt_text: str  # what the model sees, forced text included
    prompt: list[int]  # its token ids
    forced: str  # the forced text at the end of the prompt ("" when none)
    answer: str
    steps: tuple[str, ...]  # the true intermediate words
    inputs: tuple[str, ...]  # the last example's input words
    parents: np.ndarray  # the prompt's DAG
    target_is_cot: bool


def load_tokenizer(model_dir: str | Path) -> Any:
    from transformers import AutoTokenizer

    path = Path(model_dir)
    if not (path / "tokenizer_config.json").is_file() and not (path / "tokenizer.json").is_file():
        raise FileNotFoundError(f"--model {path}: no tokenizer files (tokenizer.json / tokenizer_config.json) here")
    return AutoTokenizer.from_pretrained(str(path))


def stop_token_ids(tokenizer: Any, model_dir: Path) -> list[int]:
    """The tokenizer's eos and the generation config's eos ids (a chat model's end-of-turn)."""
    ids = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    path = Path(model_dir) / "generation_config.json"
    if path.is_file():
        eos = json.loads(path.read_text()).get("eos_token_id")
        ids += [int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None]
    return sorted(set(ids))


def without_cot(cot_mask: np.ndarray, options: EvalOptions, seed: int, index: int) -> np.ndarray:
    """The mask with the CoT of ``drop_cot_k`` demonstrations (not the target) dropped."""
    if not options.drop_cot_k:
        return cot_mask
    shown = [j for j in range(len(cot_mask) - 1) if cot_mask[j]]
    dropped = choose_demonstrations(len(shown), options.drop_cot_k, options.drop_cot_which, seed, index)
    mask = np.array(cot_mask, dtype=bool)
    mask[[shown[j] for j in dropped]] = False
    return mask


def build_symbolic_cases(dataset: SymbolicDataset, tokenizer: Any, options: EvalOptions) -> list[SymbolicCase]:
    fmt = get_format(dataset.args.prompt_format)
    n = len(dataset) if not options.max_prompts else min(len(dataset), options.max_prompts)
    forced = FORCED_TEXT[options.force]
    cases = []
    for i in range(n):
        sample, cot_mask = dataset.sample(i)
        messages = build_messages(sample, without_cot(cot_mask, options, dataset.args.seed, i))
        text = fmt.generation_prompt(messages, tokenizer) + forced
        ids = tokenizer(text, add_special_tokens=fmt.add_special_tokens)["input_ids"]
        chain = sample.chains[-1]
        cases.append(
            SymbolicCase(
                i, text, list(ids), forced, chain[-1], chain[:-1], sample.inputs[-1], sample.parents, bool(cot_mask[-1])
            )
        )
    return cases


def default_budget(cases: list[SymbolicCase], tokenizer: Any) -> int:
    """Twice the longest CoT reply of the targets, in tokens, plus slack for a chatty model."""
    longest = max(
        (len(tokenizer(cot_response(c.steps, c.answer), add_special_tokens=False)["input_ids"]) for c in cases),
        default=1,
    )
    return 2 * longest + 16


@dataclass
class SymbolicEvalResult:
    options: EvalOptions
    summary: Summary
    cases: list[SymbolicCase]
    outputs: list[list[str]]  # outputs[i][j]: sample j of prompt i, forced text included
    parsed: list[list[Any]]
    scores: list[PromptScore]
    checks: list[WordStepCheck]  # the first sample's steps
    seconds: float
    max_tokens: int  # the generation budget used (new tokens per output)

    @property
    def prompts_per_second(self) -> float:
        return len(self.cases) / self.seconds if self.seconds > 0 else float("inf")

    def step_accuracy(self, kind: str) -> float:
        """Shown intermediate steps (first sample) that are globally / locally correct."""
        labels = [ok for check in self.checks for ok in getattr(check, f"{kind}_correct")[:-1] if ok is not None]
        return sum(labels) / len(labels) if labels else 0.0

    def metrics(self) -> dict[str, float]:
        return {
            **summary_metrics(self.summary, len(self.cases), self.seconds),
            "step_global_accuracy": self.step_accuracy("globally"),
            "step_local_accuracy": self.step_accuracy("locally"),
        }

    def records(self) -> list[dict[str, Any]]:
        return [
            {
                "index": c.index,
                "prompt": c.prompt_text,
                "forced": c.forced,
                "outputs": outs,
                "prediction": s.prediction,
                "label": s.label,
                "correct": s.correct,
                "n_well_formed": s.n_well_formed,
                "target_is_cot": c.target_is_cot,
                "steps": list(p[0].steps[:-1]),
                "true_steps": list(c.steps),
                "step_globally_correct": list(k.globally_correct[:-1]),
                "step_locally_correct": list(k.locally_correct[:-1]),
                "earliest_wrong_step": k.earliest_wrong_step,
                "unfaithful": k.unfaithful,
            }
            for c, outs, p, s, k in zip(self.cases, self.outputs, self.parsed, self.scores, self.checks)
        ]


def evaluate_symbolic(
    backend: InferenceBackend,
    cases: list[SymbolicCase],
    tokenizer: Any,
    args: SymbolicArgs,
    options: EvalOptions,
    budget: Optional[int] = None,
) -> SymbolicEvalResult:
    """Scores ``cases``: ALL prompts go to the backend in one ``generate`` call.

    ``budget`` (new tokens per output) defaults to ``options.max_tokens`` or :func:`default_budget`.
    """
    fmt = get_format(args.prompt_format)
    stops = stop_token_ids(tokenizer, Path(backend.config.model_dir))
    budget = budget or options.max_tokens or default_budget(cases, tokenizer)
    generated, seconds = options.generate(backend, [c.prompt for c in cases], max_tokens=budget, stop_token_ids=stops)
    all_stops = set(stops) | set(backend.model_eos_ids)
    outputs = [[c.forced + _decode(tokenizer, g, all_stops) for g in gens] for c, gens in zip(cases, generated)]
    chain_lengths = [len(c.steps) + 1 for c in cases]
    parsed = [[fmt.parse(o, n) for o in outs] for outs, n in zip(outputs, chain_lengths)]
    scores = [score_prompt(p, c.answer) for p, c in zip(parsed, cases)]
    checks = [verify_word_steps(p[0].steps, c.inputs, c.parents, args.char_offset) for p, c in zip(parsed, cases)]
    return SymbolicEvalResult(options, summarise(scores), cases, outputs, parsed, scores, checks, seconds, budget)


def _decode(tokenizer: Any, ids: list[int], stops: set[int]) -> str:
    if ids and ids[-1] in stops:
        ids = ids[:-1]  # the end-of-turn token that stopped generation is not part of the reply
    return tokenizer.decode(ids, skip_special_tokens=False)


def max_model_len(model_dir: Path, cases_per_options: list[tuple[list[SymbolicCase], int]]) -> int:
    """Longest prompt + its budget, checked against the model's ``max_position_embeddings``."""
    need = max((max(len(c.prompt) for c in cases) + budget + 1 for cases, budget in cases_per_options), default=1)
    limit = int(model_config(model_dir).get("max_position_embeddings") or 0)
    if limit and need > limit:
        raise ValueError(
            f"prompts need {need} positions but {model_dir} allows max_position_embeddings={limit}; "
            "use fewer examples (--set n_examples=K) or a smaller --max_tokens"
        )
    return need


def open_symbolic_backend(name: str, model_dir: Path, max_len: int, **engine: Any) -> InferenceBackend:
    return create_backend(name, BackendConfig(model_dir=Path(model_dir), max_model_len=max_len, **engine))


def write_symbolic_results(
    directory: Path,
    backend_name: str,
    model_dir: Path,
    args: SymbolicArgs,
    result: SymbolicEvalResult,
    tag: str = "",
    weights: Optional[CheckedWeights] = None,
) -> tuple[Path, Path]:
    """``<dir>/<backend>-symbolic[-tag]-<time>-<pid>-<random>.json`` and ``.jsonl`` (per prompt), as the token evaluator."""
    prefix = "-".join(p for p in (backend_name, "symbolic", tag) if p)
    stem, fh = new_results_file(directory, prefix, ".jsonl")  # a stem no concurrent command shares
    summary_path, records_path = stem.with_name(f"{stem.name}.json"), stem.with_name(f"{stem.name}.jsonl")
    with fh:
        for record in result.records():
            fh.write(json.dumps(record) + "\n")
    summary = {
        "task": "symbolic",
        "backend": backend_name,
        "model_dir": str(model_dir),
        **(weights.record() if weights else {"verified": False}),  # foundation.weights
        **{k: v for k, v in result.metrics().items() if k != "n_prompts"},
        "n_prompts": result.summary.n_prompts,
        "n_correct": result.summary.n_correct,
        "seconds": result.seconds,
        "max_tokens": result.max_tokens,
        "options": result.options.to_dict(),
        "symbolic_args": args.to_dict(),
        "generator_version": SYMBOLIC_GENERATOR_VERSION,
        "records_file": records_path.name,
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    return summary_path, records_path


def run_symbolic_eval(
    model_dir: str | Path,
    backend_name: str,
    args: SymbolicArgs,
    options_list: list[EvalOptions],
    *,
    engine: Optional[dict[str, Any]] = None,
    output_dir: Optional[str | Path] = None,
    split: str = "eval",
) -> list[tuple[SymbolicEvalResult, Path, Path]]:
    """Every options point on one loaded engine; results under ``output_dir`` (default MODEL/eval_results)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"--model {model_dir}: no such model directory")
    # safetensors only; a directory from elsewhere has no manifest: it loads, its results say verified: false
    weights = check_weights(model_dir, external=True)
    tokenizer = load_tokenizer(model_dir)
    dataset = SymbolicDataset(args, split)
    planned = []
    for options in options_list:
        cases = build_symbolic_cases(dataset, tokenizer, options)
        planned.append((options, cases, options.max_tokens or default_budget(cases, tokenizer)))
    engine = dict(engine or {})
    max_len = engine.pop("max_model_len", None) or max_model_len(model_dir, [(c, b) for _, c, b in planned])
    out = []
    with open_symbolic_backend(backend_name, model_dir, max_len, **engine) as backend:
        for options, cases, budget in planned:
            result = evaluate_symbolic(backend, cases, tokenizer, args, options, budget)
            tag = "" if len(options_list) == 1 else options.label().replace(",", "_").replace("=", "")
            paths = write_symbolic_results(
                Path(output_dir or model_dir / "eval_results"), backend_name, model_dir, args, result, tag, weights
            )
            out.append((result, *paths))
    return out
