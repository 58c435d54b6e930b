"""Every results path of a concurrent command is distinct (``foundation.result_paths``).

Two commands started at the same instant by the same process id (the clock is frozen: the worst
case of two commands in one second, or microsecond) write apart, and each keeps what it wrote: a
sweep's summary lists exactly the points in its own directory.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tokenized_cot_icl.foundation import result_paths
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.inference import runner, sweep, symbolic
from tokenized_cot_icl.inference.options import EvalOptions, build_cases
from tokenized_cot_icl.inference.runner import evaluate_cases, write_results
from tokenized_cot_icl.inference.sweep import EvalCard, run_sweep
from tokenized_cot_icl.inference.symbolic import SymbolicEvalResult, write_symbolic_results
from tokenized_cot_icl.inference.verify_run import verify_cases, write_verification
from tokenized_cot_icl.training.scoring import summarise


class _FrozenClock:
    """Stands in for the ``datetime`` module: ``now()`` never moves."""

    UTC = dt.UTC

    class datetime(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 1, 1, 12, 0, 0, 0, tzinfo=dt.UTC)


class _EmptyBackend:
    """Answers every prompt with empty samples: the files, not the scores, are under test."""

    def generate(self, prompts, *, n, **_):
        return [[[] for _ in range(n)] for _ in prompts]

    def close(self):
        pass


@pytest.fixture
def same_instant(monkeypatch):
    for module in (result_paths, runner, sweep, symbolic):
        monkeypatch.setattr(module, "_dt", _FrozenClock, raising=False)


def _eval(target, out):
    options = EvalOptions(max_prompts=2)
    result = evaluate_cases(_EmptyBackend(), build_cases(target.dataset, target.args, options), target.args, options)
    return list(write_results(target, "transformers", result, out))


def _verify(target, out):
    report = verify_cases(_EmptyBackend(), target.dataset, target.args, EvalOptions(max_prompts=2))
    return list(write_verification(target, "transformers", report, out))


def _symbolic(target, out):
    result = SymbolicEvalResult(EvalOptions(), summarise([]), [], [], [], [], [], 0.0, 4)
    return list(write_symbolic_results(out, "transformers", out, SymbolicArgs(), result))


def _sweep(target, out):
    card = EvalCard("mini", "", [EvalOptions(max_prompts=2), EvalOptions(max_prompts=2, force="answer")], "jsonl")
    rows = run_sweep(target, "transformers", card, {}, output_dir=out, backend=_EmptyBackend())
    (directory,) = {p.parent for p in out.glob(f"*/{rows[0]['results_file']}")}
    summary = json.loads((directory / "summary.json").read_text())
    # exactly its own points, each results file in its own directory
    assert [r["point"] for r in summary["rows"]] == [0, 1]
    assert sorted(p.name for p in directory.glob("*-p*.json")) == sorted(r["results_file"] for r in summary["rows"])
    return [directory]


@pytest.mark.parametrize("command", [_eval, _verify, _symbolic, _sweep])
def test_two_commands_at_the_same_instant_write_distinct_paths(tiny_target, tmp_path, same_instant, command):
    first = command(tiny_target, tmp_path)
    contents = {p: p.read_bytes() for p in first if p.is_file()}
    second = command(tiny_target, tmp_path)
    assert not set(first) & set(second), "a second command wrote over the first one's results"
    assert all(p.read_bytes() == data for p, data in contents.items())  # nothing lost


def test_a_second_scale_into_a_busy_out_directory_is_refused_naming_the_first(tiny_run, tmp_path, capsys):
    """``scale --out DIR`` writes fixed names: one writer of DIR at a time (before any engine starts)."""
    from tokenized_cot_icl.cli import main
    from tokenized_cot_icl.foundation.run_lock import RunLock

    out = tmp_path / "scale"
    out.mkdir()
    (out / "scaling.json").write_text("[]\n")  # the first command's results so far
    with RunLock(out / ".scale.lock", remove_on_release=True):  # the first command, still running
        code = main(["scale", str(tiny_run), "--methods", "majority", "--n", "1", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"output directory {out} is in use" in err and "give another --out" in err
    assert (out / "scaling.json").read_text() == "[]\n" and not (out / ".scale.lock").exists()
