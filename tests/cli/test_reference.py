"""The generated reference pages match the code, and ``cot-icl args`` prints the same entries."""

from pathlib import Path

import pytest

from tokenized_cot_icl.cli import main
from tokenized_cot_icl.cli.reference import PYTHON, render_cli_reference, stale_pages
from tokenized_cot_icl.foundation.args_reference import ARGS_PAGE, render_args_reference

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "stale: run `.venv/bin/python scripts/generate_reference.py`"


def test_args_page_is_fresh():
    assert (ROOT / ARGS_PAGE).read_text(encoding="utf-8") == render_args_reference(), f"{ARGS_PAGE} is {REGENERATE}"


def test_cli_page_is_fresh():
    page = (ROOT / "docs" / "CLI.md").read_text(encoding="utf-8")
    if f"argparse of Python {PYTHON}," not in page:
        pytest.skip(f"docs/CLI.md was rendered by another Python's argparse (this is {PYTHON})")
    assert page == render_cli_reference(), f"docs/CLI.md is {REGENERATE}"


def test_stale_pages_names_a_missing_or_edited_page(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / ARGS_PAGE).write_text(render_args_reference() + "edited by hand\n", encoding="utf-8")
    assert stale_pages(tmp_path) == [ARGS_PAGE, "docs/CLI.md"]


def test_args_prints_the_reference(capsys):
    assert main(["args"]) == 0
    assert capsys.readouterr().out == render_args_reference()


def test_args_field_prints_its_entry(capsys):
    assert main(["args", "activation"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Args.activation"
    for line in ("type     str", "default  'leaky_relu'", "group    data", "allowed  identity, leaky_relu, relu, silu"):
        assert line in out


def test_args_field_of_symbolic_args(capsys):
    assert main(["args", "seed", "--symbolic"]) == 0
    assert capsys.readouterr().out.startswith("SymbolicArgs.seed\n")
    assert main(["args", "word_length"]) == 0  # only SymbolicArgs has it
    assert "SymbolicArgs.word_length" in capsys.readouterr().out


def test_args_unknown_field_names_it_with_a_suggestion(capsys):
    assert main(["args", "n_input"]) == 2
    err = capsys.readouterr().err
    assert "cot-icl args: error:" in err and "'n_input'" in err and "did you mean 'n_inputs'?" in err
