"""Documentation of config fields, declared beside each field: ``documented(default, group, meaning)``.

A field made by :func:`documented` is an ordinary ``dataclasses.field`` whose ``metadata`` holds
its one-line meaning, its group and, for a name looked up in a registry or one of a few values,
the registry or tuple the validation checks against. :func:`field_docs` reads them back with the
type and default, so docs/ARGS.md and ``cot-icl args`` are rendered from the code itself and a
field without a doc or a group is an error rather than a gap in the page.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass
from typing import Any, Union

from tokenized_cot_icl.foundation.registry import Registry
from tokenized_cot_icl.foundation.types import field_types

__all__ = ["GROUPS", "FieldDoc", "documented", "field_docs", "undocumented_fields"]

# The order of the reference's sections.
GROUPS = ("data", "prompts", "model", "training", "evaluation", "logging", "system")
Choices = Union[Registry[Any], tuple[str, ...]]


def documented(
    default: Any = MISSING,
    group: str = "",
    doc: str = "",
    *,
    allowed: Choices | None = None,
    default_factory: Any = MISSING,
    hash: bool | None = None,
) -> Any:
    """A dataclass field carrying its meaning, group and allowed names; defaults are untouched."""
    if group not in GROUPS:
        raise ValueError(f"field group must be one of {list(GROUPS)}; got {group!r}")
    if not doc.strip() or "\n" in doc:
        raise ValueError(f"a field's doc is one non-empty line; got {doc!r}")
    metadata: dict[str, Any] = {"doc": doc, "group": group}
    if allowed is not None:
        metadata["allowed"] = allowed
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, hash=hash, metadata=metadata)
    return dataclasses.field(default=default, hash=hash, metadata=metadata)


@dataclass(frozen=True)
class FieldDoc:
    """One field as the reference shows it; ``choices`` are the allowed names, ``rule`` the rest."""

    config: str  # the class name, e.g. "Args"
    name: str
    group: str
    type: str
    default: str
    choices: tuple[str, ...]
    rule: str
    doc: str


def undocumented_fields(cls: type) -> list[str]:
    """Fields of ``cls`` without a doc or with a group outside :data:`GROUPS`."""
    return [
        f.name for f in dataclasses.fields(cls) if not f.metadata.get("doc") or f.metadata.get("group") not in GROUPS
    ]


def field_docs(cls: type, rules: Mapping[str, str] | None = None) -> list[FieldDoc]:
    """Every field of ``cls`` in declaration order; ``rules`` are the value rules its validation states."""
    missing = undocumented_fields(cls)
    if missing:
        raise ValueError(
            f"{cls.__name__} fields without a doc or group (use foundation.field_docs.documented): {missing}"
        )
    rules = rules or {}
    types = field_types(cls)
    docs = []
    for f in dataclasses.fields(cls):
        allowed = f.metadata.get("allowed")
        choices = tuple(allowed.names()) if isinstance(allowed, Registry) else tuple(allowed or ())
        docs.append(
            FieldDoc(
                config=cls.__name__,
                name=f.name,
                group=f.metadata["group"],
                type=type_name(types[f.name]),
                default=_default_text(f),
                choices=choices,
                rule=rules.get(f.name, ""),
                doc=f.metadata["doc"],
            )
        )
    return docs


def type_name(annotation: Any) -> str:
    """The annotation as it reads in Python: ``int | tuple[int, ...]``, ``bool | None``."""
    origin, params = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(p) for p in params)
    if origin is tuple:
        return f"tuple[{type_name(params[0])}, ...]" if params[-1] is Ellipsis else str(annotation)
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _default_text(f: dataclasses.Field) -> str:
    if f.default is MISSING and f.default_factory is not MISSING:
        return repr(f.default_factory())
    return repr(f.default)
