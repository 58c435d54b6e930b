"""The one command grammar: both spellings, hyphenated help, RUN first, one default backend,
errors with the failing subcommand's usage."""

from __future__ import annotations

import argparse
import re

import pytest

from tokenized_cot_icl.cli import build_parser, main
from tokenized_cot_icl.foundation.command_line import DEFAULT_BACKEND, hyphenate, iter_commands, normalise_argv

RUN_COMMANDS = ("eval", "verify", "scale", "attention", "alignment", "report", "plot")
ENGINE_FLAGS = {"--dtype", "--device", "--batch-size", "--kv-cache-mib", "--max-model-len"}


@pytest.fixture(scope="module")
def commands() -> dict[str, argparse.ArgumentParser]:
    return dict(iter_commands(build_parser()))


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--")}


def test_normalise_hyphenates_flags_only():
    argv = ["eval", "run_dir", "--model_base_dir=a_b", "--set", "n_tasks=2", "--", "--keep_me"]
    assert normalise_argv(argv) == ["eval", "run_dir", "--model-base-dir=a_b", "--set", "n_tasks=2", "--", "--keep_me"]
    assert hyphenate("-h") == "-h" and hyphenate("--") == "--"


def test_every_flag_is_registered_hyphenated_and_help_shows_hyphens(commands):
    for name, parser in commands.items():
        underscored = [s for s in _options(parser) if "_" in s]
        assert not underscored, f"cot-icl {name}: {underscored}"
        assert not re.search(r"--[a-z]+_[a-z_]+", parser.format_help()), f"cot-icl {name} --help shows an underscore"


@pytest.mark.parametrize("spelling", ["--task_card_key", "--task-card-key"])
def test_both_spellings_parse_to_the_same_value(spelling):
    ns = build_parser().parse_args(["cards", "show", "--task_card", "quickstart", spelling, "1"])
    assert (ns.task_card, ns.task_card_key) == ("quickstart", 1)


def test_run_commands_take_run_first(commands):
    for name in RUN_COMMANDS:
        positionals = [a for a in commands[name]._actions if not a.option_strings]
        assert positionals and positionals[0].metavar == "RUN", name
    ns = build_parser().parse_args(["eval", "--model_base_dir", "runs/x"])
    assert ns.model_base_dir == "runs/x"  # the seed README's flag stays


def test_one_default_backend_checkpoint_and_engine_flags(commands):
    with_backend = {n: p for n, p in commands.items() if "--backend" in _options(p)}
    assert {"eval", "verify", "scale", "symbolic eval"} <= set(with_backend)
    for name, parser in with_backend.items():
        assert parser.get_default("backend") == DEFAULT_BACKEND, name
        assert ENGINE_FLAGS <= _options(parser), name
        if name not in ("scale", "verifier data"):  # their sampling default is stated in their --help
            assert parser.get_default("temperature") == 0.0, name
    for name, parser in commands.items():
        for action in parser._actions:
            if "--checkpoint" in action.option_strings:
                assert "final|STEP" in action.metavar, name
                # export-model fills every model directory of a run unless told one
                assert action.default == ("all" if name == "export-model" else "final"), name
    assert "--eval-card" in _options(commands["eval"]) and "--eval-card" in _options(commands["symbolic eval"])
    assert "--eval-card" in _options(commands["scale"]) and "--task-card" in _options(commands["train"])


def test_wrong_flag_prints_the_subcommands_usage_with_a_suggestion(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", "runs/x", "--chekpoint", "3"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.startswith("usage: cot-icl verify") and "did you mean --checkpoint" in err


def test_wrong_value_names_the_allowed_values(capsys):
    with pytest.raises(SystemExit):
        main(["symbolic", "eval", "model", "--backend", "tensorrt"])
    err = capsys.readouterr().err
    assert err.startswith("usage: cot-icl symbolic eval") and "'transformers', 'vllm', 'sglang'" in err


def test_missing_run_is_reported_by_its_command(capsys):
    with pytest.raises(SystemExit):
        main(["eval"])
    assert "RUN" in capsys.readouterr().err


# (command line, the flag, the allowed range the error states): counts that make no sense.
NONSENSE_COUNTS = [
    (["eval", "run", "--n-eval-tasks", "0"], "--n-eval-tasks", "an int >= 1"),
    (["eval", "run", "--n_eval_tasks", "-1"], "--n-eval-tasks", "an int >= 1"),
    (["eval", "run", "--n-samples", "0"], "--n-samples", "an int >= 1"),
    (["eval", "run", "--max-prompts", "-1"], "--max-prompts", "an int >= 0"),
    (["eval", "run", "--batch-size", "0"], "--batch-size", "an int >= 1"),
    (["eval", "run", "--temperature", "-0.5"], "--temperature", "a number >= 0"),
    (["verify", "run", "--n-samples", "-2"], "--n-samples", "an int >= 1"),
    (["scale", "run", "--out", "d", "--n", "1,0,4"], "--n", "an int >= 1"),
    (["attention", "run", "--n-prompts", "0"], "--n-prompts", "an int >= 1"),
    (["report", "run", "--n-prompts", "-5"], "--n-prompts", "an int >= 1"),
    (["data", "export", "--format", "hf", "--out", "{tmp}", "--n", "0"], "--n", "an int >= 1"),
    (["symbolic", "eval", "m", "--n-eval-tasks", "0"], "--n-eval-tasks", "an int >= 1"),
    (["symbolic", "eval", "m", "--kv-cache-mib", "-64"], "--kv-cache-mib", "an int >= 1"),
]


@pytest.mark.parametrize(
    "argv, flag, allowed", NONSENSE_COUNTS, ids=[" ".join(c[0][:1] + c[0][-2:]) for c in NONSENSE_COUNTS]
)
def test_a_count_that_makes_no_sense_is_refused_naming_the_flag_and_range(
    capsys, tmp_path, commands, argv, flag, allowed
):
    with pytest.raises(SystemExit) as exit_info:
        main([a.replace("{tmp}", str(tmp_path / "out")) for a in argv])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert f"argument {flag}: must be {allowed}; got" in err, err
    # One place: every numeric flag of every command takes a bounded type, never a bare int or float.
    bare = [
        f"cot-icl {name} {action.option_strings[0]}"
        for name, parser in commands.items()
        for action in parser._actions
        if action.type in (int, float)
    ]
    assert not bare, bare
