"""Run summaries: the experiments page and its figures rebuild from them alone, byte for byte (a tiny
Study 1 card reusing the tiny card's runs). The scheduler's side: tests/experiments/test_summaries.py."""

from __future__ import annotations

import json
import shutil

import pytest

from studies.reproduction import STUDY1
from tests.experiments.conftest import TINY_CARD
from tokenized_cot_icl.experiments.summaries import (
    FORMAT_VERSION,
    dumps,
    read_summary,
    summarize_run,
)


@pytest.fixture
def study_card(tiny_card_runs, tmp_path, monkeypatch):
    """The tiny card as the Study 1 card (found by name), with a copy of its four finished runs."""
    _, runs_root = tiny_card_runs
    cards = tmp_path / "cards"
    cards.mkdir()
    (cards / f"{STUDY1}.toml").write_text(TINY_CARD)
    monkeypatch.setenv("COT_ICL_TASK_CARDS", str(cards))
    runs = tmp_path / "runs"
    shutil.copytree(runs_root / "tiny", runs / STUDY1, ignore=shutil.ignore_patterns("checkpoints", "final_model"))
    return runs


def _build(runs, docs):
    from scripts.reproduce import main

    main(["--no-train", "--cards", STUDY1, "--runs-root", str(runs), "--doc", str(docs / "EXPERIMENTS.md")])
    return {p.relative_to(docs).as_posix(): p.read_bytes() for p in sorted(docs.rglob("*")) if p.is_file()}


def test_page_rebuilds_from_summaries_alone_byte_identically(study_card, tmp_path):
    runs = study_card
    with_runs = _build(runs, tmp_path / "a" / "docs")
    names = sorted(k for k in with_runs if k.endswith(".json"))
    assert names == [f"experiments/{STUDY1}/{r}-seed{s}.json" for r in ("cot", "standard") for s in (0, 1)]
    summary = read_summary(tmp_path / "a" / "docs" / names[0])
    data = json.loads(with_runs[names[0]])
    assert set(data) == {
        "format_version", "card", "run", "seed", "args", "eval", "majority_answer_share", "final_metrics",
        "evaluations", "train_seconds",
    }  # fmt: skip
    assert data["format_version"] == FORMAT_VERSION and (data["card"], data["run"], data["seed"]) == (
        STUDY1,
        "cot-seed0",
        0,
    )
    assert "output_base_dir" not in data["args"] and summary.args.prompt_strategy == "cot"
    assert {"step", "eval/answer_accuracy", "eval/accuracy_chain_index_1"} <= set(data["eval"][-1])
    assert data["eval"][-1]["step"] == 8 and data["final_metrics"]["step"] == 8
    assert with_runs[names[0]].decode() == dumps(data)  # sorted keys, fixed indent
    assert any(k.endswith(".png") for k in with_runs) and "EXPERIMENTS.md" in with_runs
    again = summarize_run(runs / STUDY1 / "cot-seed0", STUDY1, "cot-seed0")
    assert dumps(again).encode() == with_runs[names[0]]  # summarising the run again: the same bytes
    # no run directories: the page, the figures and the summaries come out the same bytes
    shutil.rmtree(runs)
    shutil.copytree(tmp_path / "a" / "docs" / "experiments" / STUDY1, tmp_path / "b" / "docs" / "experiments" / STUDY1)
    assert _build(runs, tmp_path / "b" / "docs") == with_runs
