"""Every config field declares its meaning and group beside it (foundation.field_docs)."""

import dataclasses
from typing import Optional

import pytest

from tokenized_cot_icl.foundation import symbolic_config, validation
from tokenized_cot_icl.foundation.args_reference import args_docs
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.field_docs import GROUPS, documented, field_docs, undocumented_fields
from tokenized_cot_icl.foundation.registries import ACTIVATIONS
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs


@pytest.mark.parametrize("cls", [Args, SymbolicArgs], ids=lambda c: c.__name__)
def test_every_field_has_a_doc_and_a_group(cls):
    assert undocumented_fields(cls) == []
    assert {d.name for d in field_docs(cls)} == {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize(
    ("rules", "cls"), [(validation.stated_rules(), Args), (symbolic_config.stated_rules(), SymbolicArgs)]
)
def test_stated_rules_name_real_fields(rules, cls):
    assert set(rules) <= {f.name for f in dataclasses.fields(cls)}


def test_a_field_without_doc_fails_the_reference():
    @dataclasses.dataclass(frozen=True)
    class Half:
        a: int = documented(1, "data", "documented")
        b: int = 2

    assert undocumented_fields(Half) == ["b"]
    with pytest.raises(ValueError, match=r"\['b'\]"):
        field_docs(Half)


def test_documented_checks_group_and_doc():
    with pytest.raises(ValueError, match="group"):
        documented(1, "optimiser", "a meaning")
    with pytest.raises(ValueError, match="one non-empty line"):
        documented(1, "data", "")


def test_documented_keeps_defaults_and_reads_back_types_and_choices():
    @dataclasses.dataclass(frozen=True)
    class Small:
        act: str = documented("relu", "data", "an activation", allowed=ACTIVATIONS)
        table: Optional[dict] = documented(group="model", doc="a table", default_factory=lambda: {"k": 1}, hash=False)

    assert Small() == Small(act="relu", table={"k": 1})
    act, table = field_docs(Small, {"act": "a rule"})
    assert (act.type, act.default, act.choices, act.rule) == ("str", "'relu'", tuple(ACTIVATIONS.names()), "a rule")
    assert (table.type, table.default, table.group) == ("dict | None", "{'k': 1}", "model")
    assert dataclasses.fields(Small)[1].hash is False


def test_args_groups_cover_the_reference():
    assert {d.group for d in args_docs()} == set(GROUPS)
