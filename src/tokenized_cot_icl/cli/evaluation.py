"""``cot-icl eval``: the evaluator scripts as a subcommand (same flags, ``--backend`` picks the engine)."""

from __future__ import annotations

import argparse


def add_commands(subparsers) -> None:
    from tokenized_cot_icl.inference.evaluate_cli import add_evaluator_arguments

    parser = subparsers.add_parser(
        "eval",
        help="answer-token accuracy of a run's checkpoint (vllm, sglang or transformers)",
        description="Answer-token accuracy of a training run's checkpoint; writes a results file into the run.",
    )
    add_evaluator_arguments(parser, backend=None)
    parser.set_defaults(func=_run)


def _run(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.inference.backends import MissingEngineError
    from tokenized_cot_icl.inference.evaluate_cli import run_namespace

    try:
        return run_namespace(ns)
    except MissingEngineError as err:
        raise ValueError(str(err)) from None
