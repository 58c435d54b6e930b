"""``cot-icl reproduce``: train task cards' runs with the experiments scheduler, within an optional budget.

The study documents (docs/EXPERIMENTS.md, docs/VERIFICATION.md) are not part of the package: they
are written by ``scripts/reproduce.py`` and ``scripts/verification_report.py`` from the repository's
``studies/`` folder, which adds ``--doc`` and ``--skip-training`` to the options below.
"""

from __future__ import annotations

import argparse

from tokenized_cot_icl.foundation.command_line import positive_float, positive_int


def add_training_options(parser: argparse.ArgumentParser, runs_root: str = "runs") -> argparse.ArgumentParser:
    """The training options ``cot-icl reproduce`` and ``scripts/reproduce.py`` share (all but ``--cards``)."""
    parser.add_argument("--runs-root", default=runs_root, help="card X's runs go to RUNS_ROOT/X/")
    parser.add_argument("--nproc", type=positive_int, default=1, help="processes per training run (torchrun)")
    parser.add_argument("--jobs", type=positive_int, default=None, help="runs trained at once (default: cores / nproc)")
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="math threads per process (default: cores / (jobs * nproc))"
    )
    parser.add_argument(
        "--budget-minutes", type=positive_float, default=None, metavar="MIN",
        help="stop starting new runs once MIN minutes of training wall time are spent (finished runs count)",
    )  # fmt: skip
    return parser


def run_train_cards(ns: argparse.Namespace) -> int:
    """The handler of ``cot-icl reproduce``."""
    from tokenized_cot_icl.experiments.scheduler import train_cards

    train_cards(ns.cards, ns.runs_root, ns.nproc, ns.jobs, budget_minutes=ns.budget_minutes, threads=ns.threads)
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="train the runs of task cards (every entry, finished runs reused) with an optional time budget",
        description="Train every entry of each card (card X's runs in RUNS_ROOT/X/), reusing finished runs. "
        "The repository's study documents are written by `python scripts/reproduce.py` (same options, "
        "plus --doc and --skip-training).",
    )
    p.add_argument(
        "--cards", nargs="+", required=True,
        help="task cards to train, in training order (names or paths), e.g. study1_cot_speed study2_cot_recipe",
    )  # fmt: skip
    add_training_options(p)
    p.set_defaults(func=run_train_cards)
