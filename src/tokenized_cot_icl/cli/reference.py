"""``cot-icl args [FIELD]`` and the generated reference pages (docs/ARGS.md, docs/CLI.md).

docs/CLI.md is every (sub)command's ``--help``, rendered from :func:`tokenized_cot_icl.cli.build_parser`
at a fixed width so the page does not depend on the terminal that made it; docs/ARGS.md is
:func:`~tokenized_cot_icl.foundation.args_reference.render_args_reference`.
``scripts/generate_reference.py`` writes both and ``--check`` reports a stale one.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["CLI_PAGE", "HELP_WIDTH", "add_commands", "reference_pages", "render_cli_reference", "stale_pages"]

CLI_PAGE = "docs/CLI.md"
HELP_WIDTH = 100  # columns of every --help on the page
# argparse's layout differs between Python versions: the page records the version it was made with.
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def render_cli_reference() -> str:
    """docs/CLI.md: the ``--help`` of ``cot-icl`` and of every subcommand, nested ones included."""
    from tokenized_cot_icl.cli import build_parser
    from tokenized_cot_icl.foundation.args_reference import generated_notice
    from tokenized_cot_icl.foundation.command_line import iter_commands

    commands = [(" ".join(("cot-icl", name)).strip(), parser) for name, parser in iter_commands(build_parser())]
    lines = [
        "# Command reference",
        "",
        generated_notice(f"the parsers of `tokenized_cot_icl.cli` (argparse of Python {PYTHON}, {HELP_WIDTH} columns)"),
        "",
        "Each section is what `COMMAND --help` prints. Every long flag is accepted with hyphens or",
        "underscores (`--task-card` or `--task_card`); the help shows hyphens. The fields `--set FIELD=VALUE`",
        "takes are listed in [ARGS.md](ARGS.md) and by `cot-icl args`.",
        "",
        "Commands: " + " · ".join(f"[`{title}`](#{_anchor(title)})" for title, _ in commands),
        "",
    ]
    for title, parser in commands:
        lines += [f"## `{title}`", "", "```text", _help_text(parser).rstrip(), "```", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def reference_pages() -> dict[str, Callable[[], str]]:
    """Each generated page (a path relative to the repository) and the function rendering it."""
    from tokenized_cot_icl.foundation.args_reference import ARGS_PAGE, render_args_reference

    return {ARGS_PAGE: render_args_reference, CLI_PAGE: render_cli_reference}


def stale_pages(root: Path) -> list[str]:
    """The pages under ``root`` that differ from (or are missing against) a fresh rendering."""
    stale = []
    for page, render in reference_pages().items():
        path = root / page
        if not path.is_file() or path.read_text(encoding="utf-8") != render():
            stale.append(page)
    return stale


def _help_text(parser: argparse.ArgumentParser) -> str:
    # format_help asks the terminal for its width unless the formatter is given one.
    original = parser.formatter_class
    parser.formatter_class = functools.partial(original, width=HELP_WIDTH)  # type: ignore[assignment]
    try:
        return parser.format_help()
    finally:
        parser.formatter_class = original


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation other than - dropped, spaces as -."""
    return "".join(c for c in title.lower() if c.isalnum() or c in " -_").replace(" ", "-")


# ---- cot-icl args -----------------------------------------------------------------------------
def args_command(namespace: argparse.Namespace) -> int:
    from tokenized_cot_icl.foundation.args_reference import field_entry, render_args_reference

    if namespace.field is None:
        print(render_args_reference(), end="")
    else:
        print(field_entry(namespace.field, symbolic=namespace.symbolic), end="")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "args",
        help="the Args reference (docs/ARGS.md), or one field's type, default, allowed values and meaning",
        description="Without FIELD: the reference of every Args and SymbolicArgs field (docs/ARGS.md). "
        "With FIELD: that field's type, default, allowed values, group and meaning.",
    )
    parser.add_argument("field", metavar="FIELD", nargs="?", default=None, help="an Args field, e.g. n_inputs")
    parser.add_argument(
        "--symbolic", action="store_true", help="look FIELD up in SymbolicArgs (the word tasks) instead of Args"
    )
    parser.set_defaults(func=args_command)
