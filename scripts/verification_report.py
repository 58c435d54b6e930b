#!/usr/bin/env python
"""Regenerate docs/VERIFICATION.md: per-step labels and accuracy-versus-compute curves of two trained models.

Measures the quickstart run and a harder one (`reproduction_pool` cot prompts with 16 token
processors) found under --runs-root; with --train, trains whichever is missing first (the
commands are printed in the document). Writes docs/VERIFICATION.md, docs/verification/*.png and
the measured numbers as docs/verification/*.json.

    python scripts/verification_report.py [--train] [--backend vllm|transformers] [--max-prompts 256] [--skip-measure]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from studies.verification_report import verification_report
    from tokenized_cot_icl.foundation.command_line import CommandParser

    parser = CommandParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs-root", default="runs", help="where the runs live (relative to the repository)")
    parser.add_argument("--doc", default=str(ROOT / "docs" / "VERIFICATION.md"), help="document to write")
    parser.add_argument("--backend", choices=("vllm", "transformers"), default="vllm")
    parser.add_argument("--max-prompts", type=int, default=256, help="evaluation prompts per measurement")
    parser.add_argument("--train", action="store_true", help="train the runs that are missing")
    parser.add_argument(
        "--skip-measure", action="store_true", help="rebuild the page from docs/verification/*.json only"
    )
    ns = parser.parse_args(argv)
    verification_report(Path(ns.runs_root), Path(ns.doc), ns.backend, ns.max_prompts, ns.train, ns.skip_measure)
    return 0


if __name__ == "__main__":
    # `studies` lives at the repository root; `src` makes a checkout work without `pip install -e .`.
    sys.path[:0] = [str(ROOT), str(ROOT / "src")]
    sys.exit(main())
