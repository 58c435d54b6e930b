"""Planning runs from a card and launching them with the shared torchrun launcher (real processes)."""

from __future__ import annotations

import json

import pytest

from tests.experiments.conftest import TINY_CARD
from tokenized_cot_icl.experiments.scheduler import (
    Budget,
    plan_runs,
    run_name,
    spent_seconds,
    train_all,
    train_cards,
)


def test_plan_names_runs_by_what_varies(tmp_path):
    card = tmp_path / "tiny.toml"
    card.write_text(TINY_CARD)
    _, planned = plan_runs(str(card))
    assert [p.name for p in planned] == ["standard-seed0", "standard-seed1", "cot-seed0", "cot-seed1"]
    assert [p.key for p in planned] == [0, 1, 2, 3] and all(p.cell == "" for p in planned)
    grid_card = tmp_path / "grid.toml"
    grid_card.write_text(TINY_CARD.replace("seed = [0, 1]", "seed = [0]\nchain_length = [2, 3]"))
    _, planned = plan_runs(str(grid_card))
    assert [p.name for p in planned] == ["C2-standard-seed0", "C3-standard-seed0", "C2-cot-seed0", "C3-cot-seed0"]
    assert planned[1].cell == "C3"


def test_duplicate_names_are_refused(tmp_path):
    card = tmp_path / "dup.toml"
    card.write_text(TINY_CARD.replace("seed = [0, 1]", "lr = [1e-3, 1e-3]"))
    with pytest.raises(ValueError, match="entries must differ"):
        plan_runs(str(card))


def test_run_name_spells_h_diversity(tmp_path):
    card = tmp_path / "pool.toml"
    card.write_text(TINY_CARD.replace("ablation_fixed_H = true", "ablation_fixed_H = true\nnum_unique_H = 4"))
    _, planned = plan_runs(str(card))
    assert run_name(planned[0].args, ["num_unique_H", "seed"]) == "Hpool4-standard-seed0"
    fresh = planned[0].args.replace(ablation_fixed_H=False, num_unique_H=-1)
    assert run_name(fresh, ["ablation_fixed_H", "num_unique_H"]) == "Hfresh-standard-seed0"
    local = planned[0].args.replace(dag_strategy="inputs", chain_length=3)
    assert run_name(local, ["chain_length", "dag_strategy", "seed"]) == "C3-inputs-standard-seed0"


@pytest.mark.slow
def test_train_all_launches_reuses_and_respects_budget(tmp_path):
    card = tmp_path / "one.toml"
    card.write_text(TINY_CARD.replace("n_tasks = 64", "n_tasks = 16").replace("seed = [0, 1]", "seed = [0]"))
    _, planned = plan_runs(str(card))
    runs_dir = tmp_path / "runs"
    timings = train_all(planned[:1], runs_dir, nproc=1, jobs=1)  # a real torchrun launch
    assert list(timings) == ["standard-seed0"]
    assert json.loads((runs_dir / "standard-seed0" / "final_metrics.json").read_text())
    assert "eval/answer_accuracy" in (runs_dir / "standard-seed0" / "metrics.jsonl").read_text()
    # finished runs are reused; a spent budget starts nothing new
    budget = Budget(minutes=0.0, spent_s=spent_seconds([runs_dir]))
    assert budget.exhausted()
    again = train_all(planned, runs_dir, nproc=1, jobs=1, budget=budget)
    assert list(again) == ["standard-seed0"] and not (runs_dir / "cot-seed0").exists()


def test_train_cards_puts_each_card_under_its_stem_within_one_budget(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.toml").write_text(TINY_CARD)
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "timings.json").write_text(json.dumps({"standard-seed0": 90.0}))
    # 1.5 minutes already spent on card a exhaust a 1-minute budget: no run of either card starts
    out = train_cards([tmp_path / "a.toml", tmp_path / "b.toml"], tmp_path / "runs", budget_minutes=1.0)
    assert [(path.stem, runs_dir) for path, _, runs_dir in out] == [
        ("a", tmp_path / "runs" / "a"),
        ("b", tmp_path / "runs" / "b"),
    ]
    assert [len(planned) for _, planned, _ in out] == [4, 4]
    assert not (tmp_path / "runs" / "b" / "standard-seed0").exists()
