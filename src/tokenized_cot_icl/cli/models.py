"""``cot-icl export-model RUN``: a run's model directories gain a tokenizer and generation config."""

from __future__ import annotations

import argparse

from tokenized_cot_icl.foundation.command_line import add_run_argument


def _export_model(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.models.export import export_run

    checkpoint = None if ns.checkpoint in (None, "all") else ns.checkpoint
    for result in export_run(ns.run, checkpoint):
        print(result.line())
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    export = subparsers.add_parser(
        "export-model",
        help="give a run's model directories a tokenizer and generation_config.json (runs saved before they had them)",
        description="Adds the tokenizer (tokenizer.json, tokenizer_config.json, special_tokens_map.json) and "
        "generation_config.json that training now writes to final_model/ and every checkpoint of RUN, so "
        "AutoTokenizer, pipeline('text-generation') and vLLM load them. Every directory passes the weights check "
        "first; weights are never rewritten (the new directory links the old files) and MANIFEST.json is extended "
        "to the new files; each directory is replaced atomically.",
    )  # fmt: skip
    add_run_argument(export)
    export.add_argument(
        "--checkpoint", default="all", metavar="all|final|STEP",
        help="'all' (final_model/ and every checkpoint), 'final' (final_model/) or a saved step such as 1000",
    )  # fmt: skip
    export.set_defaults(func=_export_model)
