"""Verifying a checkpoint's outputs and measuring inference-time scaling on a run's evaluation set.

The prompts are the evaluator's (``build_cases``); the labels need each prompt's generator draws,
so the evaluation set must be one this code generates from its Args: the run's saved set, a set
given with ``eval_set``, or (only when asked) one generated from the run's ``args.json``.
Results land next to the evaluator's: ``RUN/eval_results/<backend>-ckpt<ckpt>-verify-<time>.json``
(the evaluator's summary) plus ``...-verification.json`` (aggregates) and ``...-verification.jsonl``
(per prompt and sample).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from tokenized_cot_icl.data.storage import META_FILE
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import write_json
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.inference.backends import BackendConfig, InferenceBackend
from tokenized_cot_icl.inference.options import EvalOptions, build_cases
from tokenized_cot_icl.inference.runner import EvalResult, evaluate_cases, write_results
from tokenized_cot_icl.inference.scaling import ScalingContext
from tokenized_cot_icl.inference.target import EvalTarget, load_target
from tokenized_cot_icl.inference.verification import (
    StepVerdict,
    VerificationSummary,
    load_truths,
    summarise_verdicts,
    verify_outputs,
)

__all__ = [
    "VerifyReport",
    "load_verification_target",
    "scaling_context",
    "search_engine_kwargs",
    "verify_cases",
    "verify_model",
    "write_verification",
]


def load_verification_target(
    model_base_dir: str | Path,
    checkpoint: str = "final",
    *,
    eval_set: Optional[str | Path] = None,
    generate_eval_set: bool = False,
    n_eval_tasks: Optional[int] = None,
    allow_unverified: bool = False,
) -> EvalTarget:
    """The run's checkpoint and an evaluation set whose prompts the verifier can label."""
    run = RunDir(model_base_dir)
    run.read_args()  # a clear error for a directory that is not a run
    if eval_set is None and not generate_eval_set and run.find_eval_set(META_FILE) is None:
        raise FileNotFoundError(
            f"{run.path} has no saved evaluation set ({run.eval_set_dir / META_FILE} is missing); the verifier "
            "labels the prompts of an evaluation set: pass --eval-set DIR (see `cot-icl data save-eval`) or "
            "--generate-eval-set to generate it from the run's args.json"
        )
    return load_target(
        model_base_dir, checkpoint, eval_set=eval_set, n_eval_tasks=n_eval_tasks, allow_unverified=allow_unverified
    )


@dataclass
class VerifyReport:
    result: EvalResult
    verdicts: list[list[StepVerdict]]  # verdicts[i][j]: sample j of prompt i
    summary: VerificationSummary

    def records(self) -> list[dict[str, Any]]:
        return [
            {"index": case.index, "samples": [v.to_record() for v in verdicts]}
            for case, verdicts in zip(self.result.cases, self.verdicts)
        ]


def verify_cases(backend: InferenceBackend, dataset, args: Args, options: EvalOptions) -> VerifyReport:
    """Evaluates like the evaluator (one batched call), then labels every step of every output."""
    cases = build_cases(dataset, args, options)
    generator, truths = load_truths(dataset, [c.index for c in cases])
    result = evaluate_cases(backend, cases, args, options)
    verdicts = verify_outputs(args, generator, truths, result.outputs)
    return VerifyReport(result, verdicts, summarise_verdicts([v for row in verdicts for v in row]))


def write_verification(
    target: EvalTarget, backend_name: str, report: VerifyReport, directory: Optional[Path] = None
) -> tuple[Path, Path, Path]:
    """The evaluator's results plus ``<stem>-verification.json`` and ``<stem>-verification.jsonl`` beside them."""
    summary_path, _ = write_results(target, backend_name, report.result, directory, tag="verify")
    stem = summary_path.with_suffix("").name
    json_path = summary_path.with_name(f"{stem}-verification.json")
    records_path = summary_path.with_name(f"{stem}-verification.jsonl")
    with records_path.open("w") as fh:
        for record in report.records():
            fh.write(json.dumps(record) + "\n")
    data = {
        "backend": backend_name,
        "checkpoint": target.checkpoint,
        "eval_set": target.eval_set_source,
        "prompt_strategy": target.args.prompt_strategy,
        "options": report.result.options.to_dict(),
        "results_file": summary_path.name,
        "records_file": records_path.name,
        **target.weights_record(),
        **report.summary.to_dict(),
    }
    write_json(json_path, data)
    return summary_path, json_path, records_path


def scaling_context(
    backend: InferenceBackend, target: EvalTarget, max_prompts: int, verifier_spec=None, **kwargs
) -> ScalingContext:
    """The prompts (cut after the last example's inputs), cases and truths of the first ``max_prompts``
    prompts; ``verifier_spec`` (a parsed ``--verifier``) builds the verifier of the ranked methods."""
    cases = build_cases(target.dataset, target.args, EvalOptions(max_prompts=max_prompts))
    generator, truths = load_truths(target.dataset, [c.index for c in cases])
    if verifier_spec is not None:
        kwargs.update(
            verifier=verifier_spec.build(target.args, generator, seed=kwargs.get("seed", 0)),
            verifier_label=verifier_spec.label,
        )
    return ScalingContext(backend, target.args, [c.prompt for c in cases], truths, generator, cases=cases, **kwargs)


def verify_model(model, dataset, args: Args, n_prompts: int) -> VerificationSummary:
    """Greedy outputs of an in-memory model on the first ``n_prompts`` prompts, verified (in-training probe)."""
    import torch

    from tokenized_cot_icl.inference.backends.transformers_backend import TransformersBackend

    backend = TransformersBackend(
        BackendConfig(Path("<in-memory model>"), batch_size=args.eval_batch_size), model=model
    )
    was_training = model.training
    model.eval()
    device = backend.device
    # The backend seeds torch's RNG for sampling; the training streams must not see it.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            return verify_cases(backend, dataset, args, EvalOptions(max_prompts=n_prompts)).summary
        finally:
            model.train(was_training)


def search_engine_kwargs(backend_name: str, args: Args) -> dict[str, Any]:
    """Engine options for search: vLLM must return log-probabilities of every token, and caches prefixes.

    vLLM's CPU build caches in blocks of 128 tokens by default, longer than many prompts here: no
    prompt would ever hit the prefix cache. Blocks of 32 let every beam reuse its prompt's KV.
    """
    if backend_name == "vllm":
        return {"max_logprobs": args.vocab_size, "enable_prefix_caching": True, "block_size": 32}
    return {}
