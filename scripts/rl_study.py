#!/usr/bin/env python
"""Regenerate docs/RL.md: GRPO with exact rewards against supervised training, from two trained models.

Runs every fine-tuning of the study (studies/rl.py: 2 starting models x 3 seeds x outcome, process,
mixed reward and supervised) into RUNS_ROOT/rl-study/, keeps each run's numbers as docs/rl/*.json,
and writes docs/RL.md with its figures docs/rl/*.png. --train first trains a missing starting model
(the commands are in the page); --no-train rebuilds the page and figures from docs/rl/*.json alone.

    python scripts/rl_study.py [--train | --no-train] [--runs-root runs]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from studies.rl import rl_study
    from tokenized_cot_icl.foundation.command_line import CommandParser

    parser = CommandParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-root", default="runs", help="where the starting runs live and rl-study/ goes")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "RL.md"), help="document to write")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--train", action="store_true", help="train a missing starting model first")
    mode.add_argument("--no-train", action="store_true", help="rebuild the page from docs/rl/*.json only")
    ns = parser.parse_args(argv)
    rl_study(Path(ns.runs_root), Path(ns.doc), train=ns.train, no_train=ns.no_train)
    return 0


if __name__ == "__main__":
    # `studies` lives at the repository root; `src` makes a checkout work without `pip install -e .`.
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    sys.exit(main())
