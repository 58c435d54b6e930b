"""``cot-icl cards ...``, ``cot-icl train`` and ``cot-icl quickstart``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from tokenized_cot_icl.foundation import task_cards as tc
from tokenized_cot_icl.foundation.command_line import (
    add_allow_unverified_argument,
    add_training_card_arguments,
    non_negative_int,
    positive_int,
)
from tokenized_cot_icl.foundation.config import Args

QUICKSTART_CARD = "quickstart"


# ---- task card selection -----------------------------------------------------------------
def add_card_options(parser: argparse.ArgumentParser, key_required: bool = True) -> None:
    add_training_card_arguments(
        parser,
        key_required=key_required,
        help_card="a card in task_cards/ by name (e.g. quickstart) or a path to a TOML card; "
        "default: TASK_CARD of tokenized_cot_icl.core.task_card (task_cards/default.toml)",
    )


def select(card_name: str | None, key: int) -> tuple[Args, str]:
    """The Args at ``key`` and the card's display name."""
    card = tc.default_task_card() if card_name is None else tc.load_task_card(card_name)
    name = tc.DEFAULT_CARD if card_name is None else card_name
    return tc.select_args(card, key, name), name


def apply_overrides(args: Args, namespace: argparse.Namespace) -> Args:
    """The card entry with ``--set`` overrides (the shared parser) and ``--output-base-dir``."""
    from tokenized_cot_icl.foundation.overrides import args_from_namespace

    if getattr(namespace, "overrides", None):
        args = args_from_namespace(namespace, base=args)
    if getattr(namespace, "output_base_dir", None):
        args = args.replace(output_base_dir=namespace.output_base_dir)
    return args


# ---- train ----------------------------------------------------------------------------------
def build_train_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    add_card_options(parser, key_required=False)
    parser.add_argument("--output-base-dir", default=None, help="override Args.output_base_dir")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
        help="override one Args field of the card entry (VALUE is JSON or a bare string); repeatable",
    )  # fmt: skip
    parser.add_argument("--run-name", default=None, help="run directory name (default: <card>-<key>-<hash>)")
    add_allow_unverified_argument(parser, "every checkpoint, final_model/ and final_metrics.json trained from them")
    return parser


def run_train_command(namespace: argparse.Namespace) -> int:
    """Selects the card entry, trains it, and turns configuration errors into one clear line."""
    from tokenized_cot_icl.foundation.errors import error_line
    from tokenized_cot_icl.foundation.run_dir import default_run_name
    from tokenized_cot_icl.foundation.validation import check_path_name
    from tokenized_cot_icl.training.checkpoint import CheckpointError
    from tokenized_cot_icl.training.distributed import shutdown
    from tokenized_cot_icl.training.trainer import Trainer

    trainer = None
    try:
        if namespace.run_name is not None:  # the same check as --set run_name=..., before any work
            check_path_name(namespace.run_name, "--run-name")
        args, card_name = select(namespace.task_card, namespace.task_card_key)
        args = apply_overrides(args, namespace)
        run_name = namespace.run_name or default_run_name(args, card_name, namespace.task_card_key)
        trainer = Trainer(args, run_name=run_name, allow_unverified=namespace.allow_unverified)
        trainer.train()
    except (ValueError, KeyError, RuntimeError, OSError, CheckpointError) as err:
        message = error_line(err)
        rank = os.environ.get("RANK")
        prefix = f"[rank {rank}] " if rank not in (None, "0") else ""
        print(f"{prefix}error: {message}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        if os.environ.get("RANK") in (None, "0"):
            where = trainer.run_dir if trainer is not None else "the run directory"
            print(f"\ninterrupted; re-run the same command to resume {where} from its newest checkpoint", flush=True)
        return 130
    finally:
        if trainer is not None:
            shutdown(trainer.ctx)
    return 0


# ---- cards ----------------------------------------------------------------------------------
def cards_list(namespace: argparse.Namespace) -> int:
    if namespace.card is None:
        namespace.card = namespace.task_card
    if namespace.card is None:
        for name in tc.available_cards():
            grid = tc.load_task_card(name)
            first_line = tc.card_description(name).splitlines()[0] if tc.card_description(name) else ""
            print(f"{name:<20} {len(grid):>4} keys  {first_line}")
        return 0
    grid = tc.load_task_card(namespace.card)
    axes = tc.varying_fields(grid)
    print(f"task card {namespace.card} ({tc.resolve_card_path(namespace.card)}): {len(grid)} keys")
    for key, args in grid.items():
        values = ", ".join(f"{field}={json.dumps(args.to_dict()[field])}" for field in axes if field != "enable_cot")
        print(f"  {key:>3}: {values or '(base Args)'}")
    return 0


def cards_show(namespace: argparse.Namespace) -> int:
    args, name = select(namespace.task_card, namespace.task_card_key)
    if namespace.card_json:
        print(args.to_json())
        return 0
    defaults = Args().to_dict()
    print(f"# task card {name}, key {namespace.task_card_key} (fields that differ from the Args defaults)")
    for field, value in args.to_dict().items():
        if value != defaults.get(field):  # optional fields (model_seed) are absent when unset
            print(f"{field} = {json.dumps(value)}")
    return 0


# ---- quickstart -------------------------------------------------------------------------------
def quickstart(namespace: argparse.Namespace) -> int:
    """torchrun with 2 CPU processes on the quickstart card, then the final answer accuracy."""
    from tokenized_cot_icl.foundation.run_dir import RunDir, default_run_name
    from tokenized_cot_icl.training.launch import thread_env, train_command

    args, _ = select(QUICKSTART_CARD, namespace.task_card_key)
    args = apply_overrides(args, namespace)
    run_dir = RunDir.for_args(args, default_run_name(args, QUICKSTART_CARD, namespace.task_card_key))
    command = train_command(
        QUICKSTART_CARD,
        namespace.task_card_key,
        nproc=namespace.nproc,
        output_base_dir=namespace.output_base_dir or None,
        overrides=namespace.overrides,
    )
    # Shown as `python ...`: the interpreter's absolute path says nothing to a reader of the log.
    print("$ " + " ".join(["python", *command[1:]]), flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, env=thread_env())
    if result.returncode:
        print(f"cot-icl quickstart: training failed (exit {result.returncode})", file=sys.stderr)
        return result.returncode
    metrics = run_dir.final_metrics()
    print(f"run directory: {run_dir} (trained in {time.perf_counter() - started:.0f} s)")
    for key in sorted(k for k in metrics if k.startswith("eval/")):
        print(f"  {key}: {metrics[key]:.4f}")
    print(f"final answer accuracy: {metrics['eval/answer_accuracy']:.4f}")
    return 0


def add_commands(subparsers) -> None:
    cards = subparsers.add_parser("cards", help="list and inspect task cards (experiment grids)")
    card_commands = cards.add_subparsers(dest="cards_command", metavar="{list,show}", required=True)
    lister = card_commands.add_parser("list", help="list cards, or one card's keys and what each varies")
    lister.add_argument(
        "--task-card", default=None, metavar="NAME|PATH", help="a card to expand (default: list all cards)"
    )
    lister.add_argument("--card", default=None, help=argparse.SUPPRESS)  # the older name of --task-card
    lister.set_defaults(func=cards_list)
    show = card_commands.add_parser("show", help="the Args one key of a card expands to")
    add_card_options(show, key_required=True)
    show.add_argument("--json", dest="card_json", action="store_true", help="print the full Args as JSON")
    show.set_defaults(func=cards_show)

    train = subparsers.add_parser(
        "train", help="train one card entry in this process (use torchrun -m tokenized_cot_icl.core.train for DDP)"
    )
    build_train_parser(train)
    train.set_defaults(func=run_train_command)

    quick = subparsers.add_parser(
        "quickstart", help="train the quickstart card with torchrun (2 CPU processes), then print the answer accuracy"
    )
    quick.add_argument("--task-card-key", type=non_negative_int, default=0, help="0: CoT prompts, 1: standard")
    quick.add_argument("--nproc", type=positive_int, default=2, help="torchrun processes")
    quick.add_argument("--output-base-dir", default=None, help="override Args.output_base_dir")
    quick.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE", help="override one Args field"
    )
    quick.set_defaults(func=quickstart)
