#!/usr/bin/env python
"""Regenerate docs/VERIFIERS.md: learned, noisy, exact and log-probability verifiers under test-time search.

Runs the study (studies/verifiers.py: labelled samples and PRM/ORM training under
RUNS_ROOT/verifier-study/, every verifier-ranked method with every verifier on two trained models,
3 seeds), keeps the numbers as docs/verifiers/*.json, and writes docs/VERIFIERS.md with its figures
docs/verifiers/*.png (studies/verifiers_document.py). --no-run rebuilds the page and figures from
docs/verifiers/*.json alone; --train first trains a missing model (the commands are in the page).

    python scripts/verifier_study.py [--train | --no-run] [--runs-root runs] [--part models|gap]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from studies.verifiers import run_study
    from studies.verifiers_document import write_page
    from tokenized_cot_icl.foundation.command_line import CommandParser

    parser = CommandParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-root", default="runs", help="where the trained runs live and verifier-study/ goes")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "VERIFIERS.md"), help="document to write")
    parser.add_argument(
        "--part", action="append", choices=("models", "gap"), help="run only this part (repeatable; default both)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--train", action="store_true", help="train a missing model first")
    mode.add_argument("--no-run", action="store_true", help="rebuild the page from docs/verifiers/*.json only")
    ns = parser.parse_args(argv)
    doc = Path(ns.doc)
    data_dir = doc.parent / "verifiers"
    if not ns.no_run:
        run_study(Path(ns.runs_root), data_dir, train=ns.train, parts=tuple(ns.part or ("models", "gap")))
    write_page(doc, data_dir)
    print(f"wrote {doc} and {data_dir}/")
    return 0


if __name__ == "__main__":
    # `studies` lives at the repository root; `src` makes a checkout work without `pip install -e .`.
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    sys.exit(main())
