"""The reproduction document is built from real (tiny) runs of a card, numbers taken from them."""

from __future__ import annotations

import re

import matplotlib.image as mpimg

from studies.reproduction import reproduce
from tokenized_cot_icl.analysis.runs import load_run


def test_document_from_card_runs(tiny_card_runs, tmp_path):
    card, runs_root = tiny_card_runs
    runs_dir = runs_root / "tiny"
    doc = reproduce([str(card)], runs_root, tmp_path / "docs" / "EXPERIMENTS.md", skip_training=True)
    text = doc.read_text()
    assert "do not edit by hand" in text
    # the table holds every eval step the runs logged (8 steps, eval every 2; the trainer may add step 0)
    rows = [line for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    logged = load_run(runs_dir / "cot-seed0").series("eval/answer_accuracy")[0].tolist()
    assert [int(r.split("|")[1]) for r in rows] == logged and logged[-4:] == [2, 4, 6, 8]
    # the final row's cot mean is the mean of the runs' logged values
    final = [load_run(runs_dir / f"cot-seed{s}").series("eval/answer_accuracy")[1][-1] for s in (0, 1)]
    assert f"{sum(final) / 2:.3f} ±" in rows[-1].split("|")[3]
    assert "### What this says about the claim" in text and "2 seeds" in text
    assert "## Summary\n\n- `tiny`: " in text
    for heading in ("### Setup", "### Answer accuracy over training", "### The transition", "### Inside the final"):
        assert f"\n{heading}" in text
    figure = tmp_path / "docs" / "experiments" / "tiny_curves.png"
    assert "](experiments/tiny_curves.png)" in text
    assert mpimg.imread(figure).shape[0] > 100
    assert mpimg.imread(figure.with_name("tiny_attention_map_cot.png")).shape[0] > 100


def test_missing_runs_are_named(tiny_card_runs, tmp_path):
    card, _ = tiny_card_runs
    try:
        reproduce([str(card)], tmp_path / "empty", tmp_path / "doc.md", skip_training=True)
    except FileNotFoundError as err:
        assert "standard-seed0" in str(err) and "--no-train" in str(err)
    else:
        raise AssertionError("expected FileNotFoundError for a card without runs")
