"""The evaluator command line shared by ``inference/{vllm,sglang,transformers}/evaluator.py`` and ``cot-icl eval``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from tokenized_cot_icl.foundation.command_line import (
    CommandParser,
    add_allow_unverified_argument,
    add_backend_argument,
    add_checkpoint_argument,
    add_engine_arguments,
    add_eval_card_argument,
    add_run_argument,
    engine_from_namespace,
    non_negative_float,
    non_negative_int,
    positive_int,
    run_from_namespace,
)
from tokenized_cot_icl.foundation.errors import error_line
from tokenized_cot_icl.inference.options import FORCE_CHOICES, EvalOptions
from tokenized_cot_icl.prompts.transformations import DROP_CHOICES


def _int_or_choices(text: str):
    parts = [p for p in text.replace(" ", "").split(",") if p]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int or comma-separated ints; got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one int")
    return values[0] if len(values) == 1 else values


def _h_pool(text: str) -> int:
    """``--num-unique-H``: a pool size >= 1, or -1 (one fixed H per chain position)."""
    value = int(text) if text.strip().lstrip("-").isdigit() else None
    if value is None or not (value == -1 or value >= 1):
        raise argparse.ArgumentTypeError(f"must be an int >= 1, or -1 (one fixed H per chain position); got {text!r}")
    return value


def add_evaluator_arguments(parser: argparse.ArgumentParser, backend: Optional[str]) -> argparse.ArgumentParser:
    """``cot-icl eval`` and the evaluator scripts (``backend`` fixes the scripts' default engine)."""
    add_run_argument(parser, legacy_flag=True)
    add_checkpoint_argument(parser)
    add_allow_unverified_argument(parser, "the results file")
    add_backend_argument(parser, default=backend)
    data = parser.add_argument_group("evaluation set (default: the run's saved set)")
    data.add_argument("--eval-set", default=None, metavar="DIR", help="a saved evaluation set (cot-icl data save-eval)")
    for name in ("n_inputs", "n_parents", "chain_length", "n_examples"):
        data.add_argument(
            f"--{name}", type=_int_or_choices, default=None, help="generate a set with this value (int or a,b,c)"
        )
    data.add_argument("--num-unique-H", type=_h_pool, default=None, help="generate a set with this H pool size")
    data.add_argument("--n-eval-tasks", type=positive_int, default=None, help="number of evaluation prompts")
    add_option_arguments(parser)
    add_eval_card_argument(parser)
    add_engine_arguments(parser)
    parser.add_argument(
        "--output-dir", default=None, metavar="DIR", help="where results go (default: RUN/eval_results)"
    )
    return parser


def add_option_arguments(parser: argparse.ArgumentParser, temperature: float = 0.0, why: str = "") -> None:
    """The evaluation options (:class:`EvalOptions`), shared by every evaluation command."""
    opts = parser.add_argument_group("options (SPEC section 5)")
    opts.add_argument("--force", choices=FORCE_CHOICES, default="none", help="append the think or answer token")
    opts.add_argument("--n-samples", type=positive_int, default=1, help="samples per prompt, majority-voted")
    opts.add_argument(
        "--temperature", type=non_negative_float, default=temperature, help=f"sampling temperature (0: greedy){why}"
    )
    opts.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed")
    opts.add_argument("--drop-cot-k", type=non_negative_int, default=0, help="drop the think span of k demonstrations")
    opts.add_argument("--drop-cot-which", choices=DROP_CHOICES, default="first", help="which k demonstrations")
    opts.add_argument(
        "--max-tokens", type=non_negative_int, default=0, help="generation budget (0: a default for the prompts)"
    )
    opts.add_argument(
        "--max-prompts", type=non_negative_int, default=0, help="evaluate only the first N prompts (0: all)"
    )


def build_parser(backend: Optional[str] = None, prog: Optional[str] = None) -> argparse.ArgumentParser:
    parser = CommandParser(
        prog=prog,
        description="Answer-token accuracy of a training run's checkpoint; writes a results file into the run.",
    )
    return add_evaluator_arguments(parser, backend)


def options_from_namespace(ns: argparse.Namespace) -> EvalOptions:
    return EvalOptions(
        force=ns.force,
        n_samples=ns.n_samples,
        temperature=ns.temperature,
        seed=ns.seed,
        drop_cot_k=ns.drop_cot_k,
        drop_cot_which=ns.drop_cot_which,
        max_tokens=ns.max_tokens,
        max_prompts=ns.max_prompts,
    )


def run_namespace(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.foundation.io import ensure_writable_dir
    from tokenized_cot_icl.foundation.run_dir import RunDir
    from tokenized_cot_icl.inference.runner import open_backend, write_results
    from tokenized_cot_icl.inference.sweep import load_eval_card, run_sweep
    from tokenized_cot_icl.inference.target import load_target

    overrides = {k: getattr(ns, k) for k in ("n_inputs", "n_parents", "chain_length", "n_examples", "num_unique_H")}
    target = load_target(
        run_from_namespace(ns), ns.checkpoint, eval_set=ns.eval_set, overrides=overrides,
        n_eval_tasks=ns.n_eval_tasks, allow_unverified=ns.allow_unverified,
    )  # fmt: skip
    ensure_writable_dir(ns.output_dir or RunDir(target.run_dir).results_dir, "--output-dir")  # before the engine
    engine = engine_from_namespace(ns)
    print(f"run: {target.run_dir}  checkpoint: {target.checkpoint} ({target.checkpoint_dir})")
    print(f"evaluation set: {target.eval_set_source} ({len(target.dataset)} prompts)  backend: {ns.backend}")
    if ns.eval_card:
        card = load_eval_card(ns.eval_card, base=options_from_namespace(ns))
        run_sweep(target, ns.backend, card, engine, output_dir=ns.output_dir)
        return 0
    options = options_from_namespace(ns)
    from tokenized_cot_icl.inference.options import build_cases
    from tokenized_cot_icl.inference.runner import evaluate_cases

    cases = build_cases(target.dataset, target.args, options)
    with open_backend(ns.backend, target, [options], **engine) as backend:
        result = evaluate_cases(backend, cases, target.args, options)
    summary_path, records_path = write_results(target, ns.backend, result, ns.output_dir and Path(ns.output_dir))
    s = result.summary
    print(f"answer-token accuracy: {s.accuracy:.4f} ({s.n_correct}/{s.n_prompts} prompts)")
    print(f"format accuracy: {s.format_accuracy:.4f}  options: {options.label()}")
    for key, value in sorted(result.eval_metrics().items()):  # the names training logs, for the same numbers
        print(f"  {key}: {value:.4f}")
    print(f"throughput: {result.prompts_per_second:.1f} prompts/s ({result.seconds:.2f} s in one batched call)")
    print(f"results: {summary_path}\nper-prompt records: {records_path}")
    return 0


def main(argv: Optional[Sequence[str]] = None, backend: Optional[str] = None, prog: Optional[str] = None) -> int:
    from tokenized_cot_icl.inference.backends import MissingEngineError

    parser = build_parser(backend, prog)
    ns = parser.parse_args(argv)
    try:
        return run_namespace(ns)
    except MissingEngineError as err:
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 3
    except (ValueError, OSError, KeyError) as err:
        print(f"{parser.prog}: error: {error_line(err)}", file=sys.stderr)
        return 2
