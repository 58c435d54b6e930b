"""``cot-icl data ...``: look at generated prompts, their statistics, save eval sets, export splits."""

from __future__ import annotations

import argparse
import json

from tokenized_cot_icl.cli.training import add_card_options
from tokenized_cot_icl.data.export import EXPORT_FORMATS
from tokenized_cot_icl.foundation.command_line import non_negative_int, positive_int
from tokenized_cot_icl.foundation.overrides import add_args_options, args_from_namespace


def _show(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.data.dataset import TokenizedDataset
    from tokenized_cot_icl.data.stats import dataset_statistics

    args = args_from_namespace(ns)
    dataset = TokenizedDataset(args, split=ns.split)
    print(dataset[ns.index])
    n = min(ns.n_stats, len(dataset))
    if n:
        print(f"statistics over the first {n} {ns.split} prompts:")
        print(json.dumps(dataset_statistics(args, n, split=ns.split, progress=True).summary(), indent=2))
    return 0


def _stats(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.data.stats import dataset_statistics, eval_set_statistics
    from tokenized_cot_icl.data.storage import load_eval_set

    if ns.eval_set:
        stats = eval_set_statistics(load_eval_set(ns.eval_set))
    else:
        stats = dataset_statistics(args_from_namespace(ns), ns.n, split=ns.split, progress=True)
    print(json.dumps(stats.summary(), indent=2))
    return 0


def _save_eval(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import save_eval_set

    args = args_from_namespace(ns)
    directory = save_eval_set(EvalTokenizedDataset(args), ns.out)
    print(f"saved {args.n_eval_tasks} evaluation prompts to {directory}")
    return 0


def _export(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.cli.training import select
    from tokenized_cot_icl.data.export import export_dataset
    from tokenized_cot_icl.data.export_sources import token_source

    base = select(ns.task_card, ns.task_card_key)[0] if ns.task_card or ns.task_card_key else None
    args = args_from_namespace(ns, base=base)
    source = token_source(args, ns.split, ns.n, text=ns.text)
    out = export_dataset(source, ns.out, ns.format, chunk_size=ns.chunk_size, overwrite=ns.overwrite)
    print(f"exported {source.n_rows} {ns.split} prompts to {out} ({ns.format})")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser("data", help="generate, inspect and save synthetic CoT-ICL data")
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)

    show = sub.add_parser("show", help="print one item and statistics of a configuration")
    add_args_options(show)
    show.add_argument("--index", type=non_negative_int, default=0, help="item index (default 0)")
    show.add_argument("--split", choices=["train", "eval"], default="train")
    show.add_argument(
        "--n-stats", type=non_negative_int, default=1000, help="prompts to compute statistics over (0: none)"
    )
    show.set_defaults(func=_show)

    stats = sub.add_parser("stats", help="TokenCoverage and example counts of a configuration or saved set")
    add_args_options(stats)
    stats.add_argument("--n", type=positive_int, default=1000, help="number of prompts (default 1000)")
    stats.add_argument("--split", choices=["train", "eval"], default="train")
    stats.add_argument("--eval-set", metavar="DIR", help="a saved evaluation set instead of a configuration")
    stats.set_defaults(func=_stats)

    save = sub.add_parser("save-eval", help="materialise the eval split and save it (safetensors + JSON)")
    add_args_options(save)
    save.add_argument("--out", required=True, metavar="DIR", help="directory to write")
    save.set_defaults(func=_save_eval)

    export = sub.add_parser("export", help="write a split as a datasets DatasetDict (hf) or Parquet files")
    add_card_options(export, key_required=False)
    add_args_options(export)
    export.add_argument("--split", choices=["train", "eval"], default="train")
    export.add_argument("--n", type=positive_int, default=None, help="number of prompts (default: the whole split)")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="hf (save_to_disk) or parquet")
    export.add_argument("--out", required=True, metavar="DIR", help="directory to write (new or empty)")
    export.add_argument("--chunk-size", type=positive_int, default=512, help="prompts generated and written at a time")
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    export.add_argument(
        "--text", action="store_true",
        help="add prompt and completion text columns (the prompt cut after the last example's inputs, and the "
        "reference continuation, as the model directory's tokenizer writes them)",
    )  # fmt: skip
    export.set_defaults(func=_export)
