"""``cot-icl symbolic show|export|eval``: the word tasks for pretrained models (SPEC section 8)."""

from __future__ import annotations

import argparse

from tokenized_cot_icl.foundation.command_line import (
    add_backend_argument,
    add_engine_arguments,
    add_eval_card_argument,
    add_training_card_arguments,
    engine_from_namespace,
    non_negative_int,
    positive_int,
)
from tokenized_cot_icl.foundation.symbolic_config import SYMBOLIC_CARD_DIR, SymbolicArgs


# ---- configuration ----------------------------------------------------------------------------
def add_symbolic_config_options(parser: argparse.ArgumentParser) -> None:
    add_training_card_arguments(
        parser,
        key_required=False,
        help_card=f"a symbolic card in task_cards/{SYMBOLIC_CARD_DIR}/ by name (e.g. default) or a path to a TOML "
        "card; default: the SymbolicArgs defaults",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
        help="override one SymbolicArgs field; VALUE is JSON (numbers, true/false, [3, 4] for tuples) or a bare string",
    )  # fmt: skip


def symbolic_args_from_namespace(ns: argparse.Namespace, **changes) -> SymbolicArgs:
    from tokenized_cot_icl.foundation import task_cards as tc
    from tokenized_cot_icl.foundation.overrides import parse_override

    base = SymbolicArgs()
    if ns.task_card is not None:
        card = tc.load_task_card(ns.task_card, config_cls=SymbolicArgs, subdir=SYMBOLIC_CARD_DIR)
        base = tc.select_args(card, ns.task_card_key, ns.task_card)
    data = {**base.to_dict(), **dict(parse_override(text) for text in ns.overrides)}
    data.update({k: v for k, v in changes.items() if v is not None})
    return SymbolicArgs.from_dict(data, source="--set/--task-card")


def _load_tokenizer(path):
    if path is None:
        return None
    from tokenized_cot_icl.inference.symbolic import load_tokenizer

    return load_tokenizer(path)


# ---- show -------------------------------------------------------------------------------------
def _show(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.data.symbolic import SymbolicDataset
    from tokenized_cot_icl.prompts.symbolic import get_format

    args = symbolic_args_from_namespace(ns)
    item = SymbolicDataset(args, ns.split)[ns.index]
    fmt = get_format(args.prompt_format)
    tokenizer = _load_tokenizer(ns.tokenizer)
    if fmt.needs_tokenizer and tokenizer is None:
        # No chat template to render with: show the messages themselves.
        print("\n\n".join(f"[{m['role']}]\n{m['content']}" for m in item["messages"]))
    else:
        print(fmt.render(item["messages"], tokenizer))
    print(
        f"\n# {ns.split} prompt {item['index']}: {item['num_cot_examples']} CoT + {item['num_direct_examples']} direct"
    )
    print(f"# DAG (parents of each chain word): {item['adj_list']}")
    print(f"# steps: {item['steps']}")
    print(f"# answer: {item['answer']}")
    return 0


# ---- export -----------------------------------------------------------------------------------
def _export(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.data.export import export_dataset
    from tokenized_cot_icl.data.export_sources import symbolic_source

    args = symbolic_args_from_namespace(ns)
    source = symbolic_source(args, ns.split, ns.n, tokenizer=_load_tokenizer(ns.tokenizer))
    out = export_dataset(source, ns.out, ns.format, chunk_size=ns.chunk_size, overwrite=ns.overwrite)
    print(
        f"exported {source.n_rows} symbolic {ns.split} prompts to {out} ({ns.format}; text: {source.extra['text_format']})"
    )
    return 0


# ---- eval -------------------------------------------------------------------------------------
def _model_dir(ns: argparse.Namespace) -> str:
    if ns.model and ns.model_flag and ns.model != ns.model_flag:
        raise ValueError(f"MODEL ({ns.model}) and --model ({ns.model_flag}) name different directories; give one")
    if not (ns.model or ns.model_flag):
        raise ValueError("MODEL: the model directory to evaluate is required (cot-icl symbolic eval MODEL)")
    return ns.model or ns.model_flag


def _eval(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.inference.backends import MissingEngineError
    from tokenized_cot_icl.inference.evaluate_cli import options_from_namespace
    from tokenized_cot_icl.inference.sweep import load_eval_card
    from tokenized_cot_icl.inference.symbolic import run_symbolic_eval

    model = _model_dir(ns)
    args = symbolic_args_from_namespace(ns, n_eval_tasks=ns.n_eval_tasks)
    options = options_from_namespace(ns)
    points = load_eval_card(ns.eval_card, base=options).points if ns.eval_card else [options]
    print(
        f"model: {model}  backend: {ns.backend}  format: {args.prompt_format}  {ns.split} prompts: {args.n_prompts(ns.split)}"
    )
    try:
        results = run_symbolic_eval(
            model,
            ns.backend,
            args,
            points,
            engine=engine_from_namespace(ns),
            output_dir=ns.output_dir,
            split=ns.split,
        )
    except MissingEngineError as err:
        raise ValueError(str(err)) from None
    for result, summary_path, records_path in results:
        m, s = result.metrics(), result.summary
        print(f"[{result.options.label()}] answer accuracy: {s.accuracy:.4f} ({s.n_correct}/{s.n_prompts} prompts)")
        print(
            f"  format accuracy: {s.format_accuracy:.4f}  step accuracy: global {m['step_global_accuracy']:.4f}, local {m['step_local_accuracy']:.4f}"
        )
        print(f"  throughput: {result.prompts_per_second:.1f} prompts/s ({result.seconds:.2f} s in one batched call)")
        print(f"  results: {summary_path}\n  per-prompt records: {records_path}")
    return 0


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    from tokenized_cot_icl.data.export import EXPORT_FORMATS
    from tokenized_cot_icl.inference.evaluate_cli import add_option_arguments

    top = subparsers.add_parser("symbolic", help="word (natural-language) CoT-ICL tasks for pretrained models")
    sub = top.add_subparsers(dest="symbolic_command", metavar="SUBCOMMAND", required=True)

    show = sub.add_parser("show", help="print one rendered symbolic prompt and its answer")
    add_symbolic_config_options(show)
    show.add_argument("--index", type=non_negative_int, default=0, help="prompt index (default 0)")
    show.add_argument("--split", choices=["train", "eval"], default="train")
    show.add_argument("--tokenizer", metavar="DIR", help="render through this tokenizer's chat template")
    show.set_defaults(func=_show)

    export = sub.add_parser("export", help="write a split as a datasets DatasetDict (hf) or Parquet files")
    add_symbolic_config_options(export)
    export.add_argument("--split", choices=["train", "eval"], default="train")
    export.add_argument("--n", type=positive_int, default=None, help="number of prompts (default: the whole split)")
    export.add_argument("--format", choices=EXPORT_FORMATS, required=True, help="hf (save_to_disk) or parquet")
    export.add_argument("--out", required=True, metavar="DIR", help="directory to write (new or empty)")
    export.add_argument("--tokenizer", metavar="DIR", help="render the text column with this chat template")
    export.add_argument("--chunk-size", type=positive_int, default=512, help="prompts generated and written at a time")
    export.add_argument("--overwrite", action="store_true", help="replace an earlier export in --out")
    export.set_defaults(func=_export)

    ev = sub.add_parser(
        "eval",
        help="accuracy of a local Hugging Face model directory on symbolic prompts",
    )
    ev.add_argument(
        "model", metavar="MODEL", nargs="?", default=None, help="model directory (weights, config, tokenizer)"
    )
    ev.add_argument("--model", dest="model_flag", default=None, help=argparse.SUPPRESS)  # the older spelling
    add_backend_argument(ev)
    add_symbolic_config_options(ev)
    ev.add_argument("--split", choices=["train", "eval"], default="eval", help="which split's prompts")
    ev.add_argument("--n-eval-tasks", type=positive_int, default=None, help="number of evaluation prompts")
    add_eval_card_argument(ev, legacy_alias=False)
    add_option_arguments(ev)
    add_engine_arguments(ev)
    ev.add_argument("--output-dir", default=None, metavar="DIR", help="where results go (default: MODEL/eval_results)")
    ev.set_defaults(func=_eval)
