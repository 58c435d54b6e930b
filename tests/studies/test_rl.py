"""docs/RL.md is rendered from the runs' numbers: tables, spreads, comparisons and findings; the page in
the repository is what its JSON rebuilds (byte for byte)."""

from __future__ import annotations

import json

import pytest

from studies.rl import (
    GRPO_METHODS,
    KEYS,
    METHODS,
    SEEDS,
    build_document,
    by_method,
    change_word,
    compare_to,
    findings,
    spread,
)
from tests.helpers import REPO

STARTS = [
    {"name": "a", "run": "run-a", "about": "model a", "command": "cot-icl quickstart", "dag": "one fixed DAG: y1 reads x1",
     "answer_reads_chain": 0.0, "eval_prompts": 16},
    {"name": "b", "run": "run-b", "about": "model b", "command": "cot-icl train", "dag": "one fixed DAG: y2 reads y1",
     "answer_reads_chain": 1.0, "eval_prompts": 16},
]  # fmt: skip


def _summary(start: str, method: str, seed: int) -> dict:
    gain = {"outcome": 0.05, "process": 0.10, "mix": 0.08, "sft": 0.0}[method] + 0.01 * seed
    points = []
    for i, step in enumerate((0, 8, 16)):
        acc = 0.5 + gain * i / 2
        points.append({"step": step, "prompts": step * 8, "completions": step * 64 * (method != "sft"),
                       **{k: 0.1 for k in KEYS}, "accuracy": acc, "unfaithful": 0.2 - 0.05 * (i / 2)})  # fmt: skip
    return {
        "start": start, "method": method, "seed": seed, "options": {}, "sampled_completions": 1024,
        "before": {k: points[0][k] for k in KEYS}, "after": {k: points[-1][k] for k in KEYS},
        "curve": points, "train_reward": [0.4] * 6 + [0.6] * 6,
    }  # fmt: skip


SUMMARIES = [_summary(s["name"], m, seed) for s in STARTS for m in METHODS for seed in SEEDS]


def test_statistics_of_the_seeds():
    runs = by_method(SUMMARIES, "a")
    assert list(runs) == list(METHODS) and [r["seed"] for r in runs["mix"]] == list(SEEDS)
    assert spread([0.5, 0.6, 0.7]) == pytest.approx({"mean": 0.6, "sd": 0.1, "min": 0.5, "max": 0.7, "n": 3})
    c = compare_to(runs, "process", "sft")
    assert c["difference"] == pytest.approx(0.10) and c["separate"] and c["p"] == pytest.approx(0.1)
    assert change_word(0.5, [0.6, 0.7]) == "rose in every seed"
    assert change_word(0.5, [0.4, 0.6]) == "moved both ways across seeds"
    assert change_word(0.5, [0.501, 0.499]) == "stayed within 0.005 in every seed"


def test_document_states_every_result():
    text = build_document(STARTS, SUMMARIES, "rl")
    for heading in ("## Setup", "## 1. Accuracy and faithfulness", "### a", "### b", "## 2. Accuracy against",
                    "## 3. GRPO against supervised", "## Reproducing"):  # fmt: skip
        assert f"\n{heading}" in text
    assert "| GRPO, process reward | 0.610 ± 0.010 (0.600–0.620) |" in text
    assert "cot-icl rl runs/run-b --supervised --steps" in text
    assert "![learning curves](rl/learning_curves.png)" in text
    runs = by_method(SUMMARIES, "b")
    for sentence in findings(STARTS[1], runs):
        assert f"- {sentence}" in text
    assert sum(f"| b | {m} |" in text for m in GRPO_METHODS) == 3


def test_the_page_in_the_repository_is_what_its_numbers_rebuild():
    data = REPO / "docs" / "rl"
    if not (data / "starts.json").is_file():
        pytest.skip("docs/rl has no measurements yet")
    starts = json.loads((data / "starts.json").read_text())
    summaries = [json.loads(p.read_text()) for p in sorted(data.glob("*-s[0-9]*.json"))]
    assert (REPO / "docs" / "RL.md").read_text() == build_document(starts, summaries, "rl")
