"""Task cards: experiment grids as TOML files in the top-level ``task_cards/`` folder.

A card is::

    description = "what the grid studies"     # optional
    [base]                                      # Args fields shared by every entry
    vocab_size = 1024
    n_inputs = [2, 3, 4]                        # an array is a tuple of choices (SPEC section 2)
    [sweep]                                     # axes, crossed in file order (first axis slowest)
    num_hidden_layers = [4, 8, 12]
    n_inputs = [4, [2, 3, 4]]                   # a sweep value that is an array is a tuple
    cot_example_prob_recipe_info = [{type = "power_law", alpha = 0.5}, {type = "power_law", alpha = inf}]
    [sweep.variant]                             # an axis that is not an Args field names a bundle:
    standard = {prompt_strategy = "standard"}   # each value sets several fields together
    cot = {prompt_strategy = "cot"}

The key of an entry is its index in the expanded grid. ``default_task_card()`` is the default card
(``task_cards/default.toml``, exported as ``core.task_card.TASK_CARD``) as ``{key: Args}``;
``load_task_card(name_or_path)`` loads any. Cards of another configuration class live in a
sub-folder (``task_cards/symbolic/`` holds ``SymbolicArgs`` cards): ``load_task_card(name,
config_cls=SymbolicArgs, subdir="symbolic")``; names are looked up in that sub-folder only.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import tomllib
from pathlib import Path
from typing import Any

from tokenized_cot_icl.foundation.config import Args

__all__ = [
    "CARD_DIR_ENV",
    "DEFAULT_CARD",
    "TaskCardError",
    "available_cards",
    "card_description",
    "default_task_card",
    "expand_card",
    "load_task_card",
    "resolve_card_path",
    "select_args",
    "varying_fields",
]

DEFAULT_CARD = "default"
CARD_DIR_ENV = "COT_ICL_TASK_CARDS"
TOP_LEVEL_KEYS = ("description", "base", "sweep")
ARGS_FIELDS = frozenset(f.name for f in dataclasses.fields(Args))


class TaskCardError(ValueError):
    """A task card that cannot be found, parsed or expanded (the message names the file)."""


def _card_search_dirs(subdir: str = "") -> list[Path]:
    """Where card names are looked up: $COT_ICL_TASK_CARDS, ./task_cards, the repository's task_cards/.

    ``subdir`` (e.g. ``"symbolic"``) looks in that sub-folder of each.
    """
    dirs = []
    if os.environ.get(CARD_DIR_ENV):
        dirs.append(Path(os.environ[CARD_DIR_ENV]) / subdir)
    dirs.append(Path.cwd() / "task_cards" / subdir)
    # src/tokenized_cot_icl/core/task_card.py -> repository root (an editable install or a checkout)
    dirs.append(Path(__file__).resolve().parents[3] / "task_cards" / subdir)
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def available_cards(subdir: str = "") -> list[str]:
    names = set()
    for directory in _card_search_dirs(subdir):
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.toml"))
    return sorted(names)


def resolve_card_path(name_or_path: str | os.PathLike, subdir: str = "") -> Path:
    """A path to an existing file, or a card name looked up in :func:`_card_search_dirs`."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix == ".toml" or candidate.is_file() or os.sep in str(name_or_path):
        if candidate.is_file():
            return candidate
        raise TaskCardError(f"task card file {str(candidate)!r} does not exist")
    for directory in _card_search_dirs(subdir):
        path = directory / f"{name_or_path}.toml"
        if path.is_file():
            return path
    tried = ", ".join(str(d) for d in _card_search_dirs(subdir))
    raise TaskCardError(
        f"no task card named {str(name_or_path)!r} (looked in {tried}); "
        f"available cards: {', '.join(available_cards(subdir))}"
    )


def _read_card_file(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as err:
        raise TaskCardError(f"task card {str(path)!r} cannot be read: {err.strerror or err}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise TaskCardError(f"task card {str(path)!r} is not valid TOML: {err}") from err
    unknown = sorted(set(data) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise TaskCardError(
            f"task card {str(path)!r}: unknown top-level key(s) {unknown}; allowed: {list(TOP_LEVEL_KEYS)}"
        )
    for table in ("base", "sweep"):
        if not isinstance(data.get(table, {}), dict):
            raise TaskCardError(f"task card {str(path)!r}: [{table}] must be a table")
    if "base" not in data and "sweep" not in data:
        # An empty file would otherwise expand to the default (GPU-sized) Args and start training.
        raise TaskCardError(
            f"task card {str(path)!r} is empty: it needs a [base] table of Args fields (an empty [base] "
            "means every field at its Args default) and/or a [sweep] table"
        )
    return data


def _axis_values(path: Path, axis: str, values: Any, config_cls: type) -> list[dict[str, Any]]:
    """One axis as a list of field overrides."""
    name = ("an " if config_cls.__name__[0] in "AEIOU" else "a ") + config_cls.__name__
    if axis in {f.name for f in dataclasses.fields(config_cls)}:
        if not isinstance(values, list) or not values:
            raise TaskCardError(f"task card {str(path)!r}: sweep axis {axis!r} must be a non-empty array of values")
        return [{axis: value} for value in values]
    if isinstance(values, dict) and values and all(isinstance(v, dict) for v in values.values()):
        return [dict(bundle) for bundle in values.values()]
    raise TaskCardError(
        f"task card {str(path)!r}: sweep axis {axis!r} is not {name} field; a bundle axis must be a table "
        f'of named tables of {config_cls.__name__} fields (e.g. [sweep.{axis}] cot = {{prompt_strategy = "cot"}})'
    )


def expand_card(data: dict[str, Any], source: Path, config_cls: type = Args) -> dict[int, Any]:
    base = data.get("base", {})
    axes = [_axis_values(source, axis, values, config_cls) for axis, values in data.get("sweep", {}).items()]
    grid: dict[int, Any] = {}
    for key, combo in enumerate(itertools.product(*axes)):
        fields = dict(base)
        for overrides in combo:
            fields.update(overrides)
        try:
            args = config_cls.from_dict(fields, source=f"task card {str(source)!r}")
        except (ValueError, TypeError) as err:
            message = str(err)
            if str(source) not in message:
                message = f"task card {str(source)!r}, key {key}: {message}"
            raise TaskCardError(message) from err
        grid[key] = args
    return grid


def load_task_card(
    name_or_path: str | os.PathLike = DEFAULT_CARD, config_cls: type = Args, subdir: str = ""
) -> dict[int, Any]:
    """The expanded grid ``{key: config}`` of a card given by name (``quickstart``) or path."""
    path = resolve_card_path(name_or_path, subdir)
    return expand_card(_read_card_file(path), path, config_cls)


def card_description(name_or_path: str | os.PathLike) -> str:
    return str(_read_card_file(resolve_card_path(name_or_path)).get("description", "")).strip()


def select_args(card: dict[int, Args], key: int, card_name: str) -> Args:
    if key not in card:
        raise TaskCardError(f"task card {card_name!r} has no key {key}; valid keys: {sorted(card)}")
    return card[key]


def varying_fields(card: dict[int, Args]) -> list[str]:
    """The Args fields whose value differs between entries (the grid's axes, as expanded)."""
    dicts = [args.to_dict() for args in card.values()]
    return [name for name in dicts[0] if any(d[name] != dicts[0][name] for d in dicts[1:])] if dicts else []


def default_task_card() -> dict[int, Args]:
    try:
        path = resolve_card_path(DEFAULT_CARD)
    except TaskCardError:
        # An installed wheel carries no task_cards/ folder; the seed defaults are the default card.
        return {0: Args()}
    return expand_card(_read_card_file(path), path)
