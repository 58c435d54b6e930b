"""Run summaries from the tiny card's runs: deterministic files, checked against the card, and the
scheduler trains only the planned runs without one (no training starts here)."""

from __future__ import annotations

import json

import pytest

from tokenized_cot_icl.experiments.scheduler import Budget, plan_runs, train_all, train_cards
from tokenized_cot_icl.experiments.summaries import SummaryStore, read_summary


@pytest.fixture
def summarised(tiny_card_runs, tmp_path):
    """``(card path, planned runs, store)``: every run of the tiny card summarised (90 s each) in a store."""
    card, runs_root = tiny_card_runs
    _, planned = plan_runs(str(card))
    store = SummaryStore(tmp_path / "summaries")
    for p in planned:
        store.get(p, runs_root / "tiny", train_seconds=90.0)
    return card, planned, store


def test_runs_with_summaries_are_not_trained(summarised, tmp_path, capsys):
    card, planned, store = summarised
    runs = tmp_path / "runs"  # no run directories at all
    assert train_all(planned, runs / "tiny", jobs=1, summaries=store) == {}
    assert "training 0 of 4 runs" in capsys.readouterr().out and not (runs / "tiny" / planned[0].name).exists()
    # without its summary a run is planned again; the others' 4.5 minutes exhaust a 1-minute budget
    store.path(planned[0]).unlink()
    assert train_all(planned, runs / "tiny", jobs=1, budget=Budget(minutes=0.0), summaries=store) == {}
    assert "training 1 of 4 runs" in capsys.readouterr().out
    train_cards([card], runs, jobs=1, budget_minutes=1.0, summaries={"tiny": store})
    out = capsys.readouterr().out
    assert "training 1 of 4 runs" in out and "1 run(s) not started" in out
    assert not (runs / "tiny" / planned[0].name).exists()


def test_summary_is_deterministic_and_checked_against_the_card(summarised, tiny_card_runs):
    _, planned, store = summarised
    path = store.path(planned[2])
    before = path.read_bytes()
    data = json.loads(before)
    assert (data["card"], data["run"], data["seed"], data["train_seconds"]) == ("tiny", "cot-seed0", 0, 90.0)
    assert read_summary(path).args.prompt_strategy == "cot" and data["evaluations"] == {}
    store.get(planned[2], tiny_card_runs[1] / "tiny")  # read, not rewritten
    assert path.read_bytes() == before
    # a summary of other Args than the card's entry is refused, naming the file
    path.write_text(before.decode().replace('"lr": 0.003', '"lr": 0.001'))
    with pytest.raises(ValueError, match="other Args"):
        store.get(planned[2], tiny_card_runs[1] / "tiny")
    path.write_text(before.decode().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(ValueError, match="format_version"):
        read_summary(path)
