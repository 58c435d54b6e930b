#!/usr/bin/env python
"""Train the experiment studies and regenerate docs/EXPERIMENTS.md (``cot-icl reproduce`` only trains).

Study 1 (task_cards/study1_in_context.toml: standard vs cot in the in-context regime, per cell of
H pool size x DAG locality x chain length, 6 paired seeds) and Study 2
(task_cards/study2_cot_recipe.toml: CoT-recipes evaluated on CoT-scarce demonstrations, 6 seeds) are
trained in that order through
``python -m tokenized_cot_icl.core.train`` (card X's runs go to runs/X/); finished runs are reused,
and ``--budget-minutes`` stops starting new runs once that much training wall time is spent. Each
finished run of a study card leaves a small summary, docs/experiments/X/<run>.json (its Args, seed,
eval records, final evaluations and training time), which is committed; a run with a summary is
never trained again, even when runs/ is gone. Then docs/EXPERIMENTS.md and docs/experiments/*.png
are rewritten from the summaries, and the README summary table is printed. ``--no-train``
(alias ``--skip-training``) only rebuilds the page and figures from the committed summaries, byte
for byte the same, with or without runs/:

    python scripts/reproduce.py --no-train

The committed summaries were trained with one thread per run on 2 CPU cores: the first ones by
`cot-icl reproduce` (training only), Study 1 two runs at a time and Study 2 one at a time, the rest
of Study 1 by this script, which trains only the planned runs that have no summary (Study 1's cells
train in the card's order, so an interrupted training leaves whole cells behind it):

    cot-icl reproduce --cards study1_in_context --jobs 2 --threads 1
    cot-icl reproduce --cards study2_cot_recipe --jobs 1 --threads 1
    python scripts/reproduce.py --jobs 2 --threads 1

``cot-icl reproduce`` alone does not read the summaries, so from a clean checkout it would retrain
runs whose directories are gone; this script does not.

Other cards (e.g. the earlier ``reproduction`` settings) can be added with ``--cards``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from studies.reproduction import DEFAULT_CARDS, reproduce
    from tokenized_cot_icl.cli.experiments import add_training_options
    from tokenized_cot_icl.foundation.command_line import CommandParser

    parser = CommandParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--cards", nargs="+", default=None,
        help="task cards to train and document, in training order (names or paths; default: "
        f"{' '.join(DEFAULT_CARDS)}; any other card gets a standard-vs-cot section of its own)",
    )  # fmt: skip
    add_training_options(parser, runs_root=str(ROOT / "runs"))
    parser.add_argument("--doc", default=str(ROOT / "docs" / "EXPERIMENTS.md"), help="document to write")
    parser.add_argument(
        "--no-train", "--skip-training", dest="no_train", action="store_true",
        help="train nothing: rebuild the document and figures from the run summaries in the doc's "
        "experiments/<card>/ folder (other cards: from their runs)",
    )  # fmt: skip
    ns = parser.parse_args(argv)
    reproduce(
        ns.cards or DEFAULT_CARDS,
        ns.runs_root,
        ns.doc,
        ns.nproc,
        ns.jobs,
        ns.no_train,
        budget_minutes=ns.budget_minutes,
        threads=ns.threads,
    )
    return 0


if __name__ == "__main__":
    # `studies` lives at the repository root; `src` makes a checkout work without `pip install -e .`.
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    sys.exit(main())
