#!/usr/bin/env python
"""Regenerate docs/ARGS.md and docs/CLI.md from the code (field declarations and parsers).

python scripts/generate_reference.py          # write both pages
python scripts/generate_reference.py --check  # exit 1 naming each stale page, write nothing
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    from tokenized_cot_icl.cli.reference import reference_pages, stale_pages
    from tokenized_cot_icl.foundation.command_line import CommandParser

    parser = CommandParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale pages (exit 1) instead of writing")
    ns = parser.parse_args(argv)
    if ns.check:
        stale = stale_pages(ROOT)
        for page in stale:
            print(f"{page} is stale: run python scripts/generate_reference.py", file=sys.stderr)
        return 1 if stale else 0
    for page, render in reference_pages().items():
        (ROOT / page).write_text(render(), encoding="utf-8")
        print(f"wrote {page}")
    return 0


if __name__ == "__main__":
    # `src` makes a checkout work without `pip install -e .`.
    sys.path[:0] = [str(ROOT / "src")]
    raise SystemExit(main())
