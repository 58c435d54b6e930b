"""The one command grammar of every entry point (``cot-icl``, the evaluator scripts, ``core.train``).

- Every long flag is accepted in both spellings, ``--task-card`` and ``--task_card``; ``--help``
  prints the hyphenated one. Options are registered hyphenated and the command line is
  normalised before parsing, so no flag is defined twice.
- A wrong flag or value is reported with the usage of the (sub)command that was being parsed,
  with the closest known flags, never with the top-level usage.
- The arguments shared by many commands are defined once here: the run (a positional ``RUN``),
  the checkpoint, the engine flags and the backend.
"""

from __future__ import annotations

import argparse
import difflib
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, Optional

BACKEND_NAMES = ("transformers", "vllm", "sglang")
# One default for every evaluation command: the backend every installation has.
DEFAULT_BACKEND = "transformers"
DTYPES = ("float32", "bfloat16", "float16")
_PARSER_ATTR = "_command_parser"  # the innermost parser that read the command line


def _bounded(convert: type, low: float, strict: bool, words: str):
    """An argparse type: a finite number above ``low`` (``strict``) or at least it; argparse puts
    the flag in front of the message, so the error names the flag and the allowed range."""

    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {words}; got {text!r}") from None
        if not math.isfinite(value) or (value <= low if strict else value < low):
            raise argparse.ArgumentTypeError(f"must be {words}; got {text}")
        return value

    parse.__name__ = words
    return parse


# Every count flag takes one of these types: 0 or a negative count is refused while parsing,
# before anything runs (tests check that no flag takes a bare int or float).
positive_int = _bounded(int, 0, True, "an int >= 1")
non_negative_int = _bounded(int, 0, False, "an int >= 0")
positive_float = _bounded(float, 0.0, True, "a number > 0")
non_negative_float = _bounded(float, 0.0, False, "a number >= 0")


def positive_ints(text: str) -> list[int]:
    """An argparse type: comma-separated ints >= 1 such as ``1,2,4,8``."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected comma-separated ints >= 1 such as 1,2,4,8; got nothing")
    return [positive_int(p) for p in parts]


def non_negative_ints(text: str) -> list[int]:
    """An argparse type: comma-separated ints >= 0 such as ``0,1,5`` (task-card keys)."""
    parts = [p for p in text.replace(" ", "").split(",") if p]
    if not parts:
        raise argparse.ArgumentTypeError("expected comma-separated ints >= 0 such as 0,1,5; got nothing")
    return [non_negative_int(p) for p in parts]


def hyphenate(option: str) -> str:
    """``--task_card`` -> ``--task-card``; short options and the bare ``--`` are unchanged."""
    if not option.startswith("--") or len(option) == 2:
        return option
    name, sep, value = option[2:].partition("=")
    return "--" + name.replace("_", "-") + sep + value


def normalise_argv(argv: Sequence[str]) -> list[str]:
    """Every long flag of ``argv`` hyphenated; nothing after a bare ``--`` is touched."""
    out: list[str] = []
    for i, token in enumerate(argv):
        if token == "--":
            return out + list(argv[i:])
        out.append(hyphenate(token))
    return out


class _HyphenatedOptions:
    """Registers every long option string hyphenated (dest keeps its underscores)."""

    def _get_optional_kwargs(self, *names: str, **kwargs: Any) -> dict[str, Any]:
        result = super()._get_optional_kwargs(*names, **kwargs)  # type: ignore[misc]
        strings = [hyphenate(s) for s in result["option_strings"]]
        result["option_strings"] = list(dict.fromkeys(strings))
        return result


class _Group(_HyphenatedOptions, argparse._ArgumentGroup):
    pass


class _ExclusiveGroup(_HyphenatedOptions, argparse._MutuallyExclusiveGroup):
    pass


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except empty ones (None, False, []) that would only add noise."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.help is None:
            return ""
        empty = action.default is None or action.default is False or action.default == []  # 0 is a value
        if empty or action.default is argparse.SUPPRESS or "default" in action.help:  # help states its own
            return action.help
        return super()._get_help_string(action)


class CommandParser(_HyphenatedOptions, argparse.ArgumentParser):
    """``argparse.ArgumentParser`` with the project's grammar (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.set_defaults(**{_PARSER_ATTR: self})

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        group = _Group(self, *args, **kwargs)
        self._action_groups.append(group)
        return group

    def add_mutually_exclusive_group(self, **kwargs: Any) -> argparse._MutuallyExclusiveGroup:
        group = _ExclusiveGroup(self, **kwargs)
        self._mutually_exclusive_groups.append(group)
        return group

    def parse_known_args(self, args: Optional[Sequence[str]] = None, namespace=None):
        argv = sys.argv[1:] if args is None else args
        return super().parse_known_args(normalise_argv(argv), namespace)

    def parse_args(self, args: Optional[Sequence[str]] = None, namespace=None) -> argparse.Namespace:
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            # Report against the subcommand that was parsing, with its own usage.
            getattr(ns, _PARSER_ATTR, self).unknown_arguments(extras)
        return ns

    def unknown_arguments(self, extras: Sequence[str]) -> NoReturn:
        known = [s for action in self._actions for s in action.option_strings if s.startswith("--")]
        hints = []
        for token in extras:
            if token.startswith("--"):
                close = difflib.get_close_matches(token.split("=", 1)[0], known, n=2)
                if close:
                    hints.append(f"{token}: did you mean {' or '.join(close)}?")
        message = f"unrecognized arguments: {' '.join(extras)}"
        self.error("; ".join([message, *hints]))

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n(see `{self.prog} --help` for every option)\n")


def add_run_argument(parser: argparse.ArgumentParser, *, legacy_flag: bool = False) -> None:
    """The run a command acts on: the first positional ``RUN``.

    With ``legacy_flag`` the seed README's ``--model_base_dir RUN`` is accepted too; call
    :func:`run_from_namespace` to read whichever was given.
    """
    if not legacy_flag:
        parser.add_argument("run", metavar="RUN", help="training run directory (holds args.json)")
        return
    parser.add_argument("run", metavar="RUN", nargs="?", default=None, help="training run directory (holds args.json)")
    parser.add_argument(
        "--model_base_dir", metavar="RUN", default=None, help="the same as RUN (the evaluator scripts' flag)"
    )


def run_from_namespace(ns: argparse.Namespace) -> str:
    positional, flag = getattr(ns, "run", None), getattr(ns, "model_base_dir", None)
    if positional and flag and positional != flag:
        raise ValueError(f"RUN ({positional}) and --model-base-dir ({flag}) name different runs; give one")
    if not (positional or flag):
        getattr(ns, _PARSER_ATTR).error("the run directory is required: give it as RUN (or --model-base-dir RUN)")
    return positional or flag


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint",
        default="final",
        metavar="final|STEP",
        help="'final' (final_model/) or a saved step such as 1000",
    )


def add_allow_unverified_argument(parser: argparse.ArgumentParser, what: str = "every result written") -> None:
    """``--allow-unverified``: the one way past the weights check's refusal of files no manifest
    vouches for (foundation.weights); ``what`` says where the mark ``verified: false`` goes."""
    parser.add_argument(
        "--allow-unverified", action="store_true",
        help="load model weights that no MANIFEST.json verifies (a run saved before manifests existed, or a "
        f"manifest removed); {what} then records verified: false",
    )  # fmt: skip


def add_backend_argument(parser: argparse.ArgumentParser, choices: Sequence[str] = BACKEND_NAMES, default=None):
    default = default or DEFAULT_BACKEND
    parser.add_argument("--backend", choices=tuple(choices), default=default, help="inference engine")


def add_verifier_argument(parser: argparse.ArgumentParser, parse, forms: str, default: str = "exact") -> None:
    """``--verifier KIND``: what ranks the verifier-ranked methods. ``parse`` (the inference layer's
    parser) turns the value into a spec; its ValueError becomes the flag's error, naming ``forms``."""

    def convert(text: str):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = "verifier"
    parser.add_argument(
        "--verifier", type=convert, default=parse(default), metavar="KIND",
        help=f"the verifier of the verifier-ranked methods: {forms} (default {default}); a directory is a "
        "learned prm/orm (`cot-icl verifier train`)",
    )  # fmt: skip


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The engine flags of every command that starts an inference engine."""
    eng = parser.add_argument_group("engine")
    eng.add_argument("--dtype", default="float32", choices=DTYPES, help="model dtype in the engine")
    eng.add_argument("--device", default="auto", help="transformers/sglang device: auto, cpu or cuda")
    eng.add_argument("--batch-size", type=positive_int, default=64, help="transformers backend batch size")
    eng.add_argument("--kv-cache-mib", type=positive_int, default=512, help="KV cache size for engines on CPU")
    eng.add_argument(
        "--max-model-len", type=non_negative_int, default=0, help="engine context length (0: from the prompts)"
    )


def engine_from_namespace(ns: argparse.Namespace) -> dict[str, Any]:
    engine = dict(dtype=ns.dtype, device=ns.device, batch_size=ns.batch_size, kv_cache_mib=ns.kv_cache_mib)
    if ns.max_model_len:
        engine["max_model_len"] = ns.max_model_len
    return engine


def add_training_card_arguments(parser: argparse.ArgumentParser, *, key_required: bool, help_card: str) -> None:
    """The training (task) card and its key: ``--task-card NAME|PATH --task-card-key KEY``."""
    parser.add_argument("--task-card", default=None, metavar="NAME|PATH", help=help_card)
    parser.add_argument(
        "--task-card-key", type=non_negative_int, default=None if key_required else 0, required=key_required, metavar="KEY",
        help="index into the card's expanded grid (see `cot-icl cards list --task-card NAME`)",
    )  # fmt: skip


def add_eval_card_argument(parser: argparse.ArgumentParser, what: str = "options", legacy_alias: bool = True) -> None:
    """The evaluation card: ``--eval-card PATH``.

    With ``legacy_alias``, ``--task-card`` (its older name on commands that take no training
    card) is accepted too, hidden from ``--help``.
    """
    parser.add_argument(
        "--eval-card", default=None, metavar="PATH", help=f"an evaluation card (TOML, task_cards/eval/) sweeping {what}"
    )
    if legacy_alias:
        parser.add_argument("--task-card", dest="eval_card", default=None, help=argparse.SUPPRESS)


def iter_commands(parser: argparse.ArgumentParser, prefix: str = ""):
    """Every (sub)command of a parser tree, depth first: ``(name, parser)``, ``("", parser)`` first.

    Names join the path with spaces (``"cards list"``); the reference page and the grammar
    tests walk the tree through this one function.
    """
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from iter_commands(sub, f"{prefix} {name}".strip())
