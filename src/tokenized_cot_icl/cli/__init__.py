"""``cot-icl``: one command, with subcommands contributed by each pipeline stage.

Each stage module listed in ``COMMAND_MODULES`` exposes ``add_commands(subparsers)``; a
subcommand sets ``func(namespace) -> int | None`` as its handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tokenized_cot_icl.foundation.command_line import CommandParser
from tokenized_cot_icl.foundation.errors import error_line

COMMAND_MODULES = (
    "tokenized_cot_icl.cli.data",
    "tokenized_cot_icl.cli.training",
    "tokenized_cot_icl.cli.evaluation",
    "tokenized_cot_icl.cli.analysis",
    "tokenized_cot_icl.cli.experiments",
    "tokenized_cot_icl.cli.symbolic",
    "tokenized_cot_icl.cli.verify",
    "tokenized_cot_icl.cli.models",
    "tokenized_cot_icl.cli.rl",
    "tokenized_cot_icl.cli.verifier",
    "tokenized_cot_icl.cli.reference",
)


def build_parser() -> argparse.ArgumentParser:
    """The whole ``cot-icl`` parser tree; every (sub)parser is a :class:`CommandParser`."""
    parser = CommandParser(prog="cot-icl", description="CoT-ICL Lab command line.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as err:
            if err.name == module_name:
                continue
            raise
        module.add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    namespace = parser.parse_args(argv)
    if not getattr(namespace, "func", None):
        parser.print_help()
        return 2
    try:
        return int(namespace.func(namespace) or 0)
    except (ValueError, OSError, KeyError) as err:
        print(f"cot-icl {namespace.command}: error: {error_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
