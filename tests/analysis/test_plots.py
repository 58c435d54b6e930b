"""Figures of runs and instruments: training curves (tiny real runs and hand-written metric
records), attention heatmaps, the axis conventions (only panels with data, plain tick numbers)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tests.analysis.helpers import hand_item, pointer_model
from tests.helpers import assert_png, tiny_args
from tokenized_cot_icl.analysis.attention import attention_map
from tokenized_cot_icl.analysis.plots import (
    log_ticks,
    plain_log_axis,
    plain_number,
    plot_attention_map,
    plot_training_curves,
    training_curves_figure,
)
from tokenized_cot_icl.analysis.runs import Run, load_run


def fake_run(name: str, chain_indices: int, steps=(0, 500, 1000, 1500)) -> Run:
    """A run directory's metric records as the trainer writes them (no files, no Args)."""
    records = []
    for step in steps:
        records.append({"step": step, "train/loss": 3.0 - step / 1000})
        evaluation = {"step": step, "eval/loss": 3.1 - step / 1000, "eval/answer_accuracy": step / 2000}
        evaluation.update({f"eval/accuracy_chain_index_{i}": step / 2000 for i in range(chain_indices)})
        records.append(evaluation)
    return Run(Path(name), None, records)


def by_name(run: Run) -> str:
    return run.name.split("-")[0]


def panel_titles(fig) -> list[str]:
    return [ax.get_title() for ax in fig.get_axes()]


def assert_every_panel_has_a_line(fig) -> None:
    for ax in fig.get_axes():
        assert ax.get_visible() and ax.axison, f"hidden panel {ax.get_title()!r}"
        assert ax.get_lines(), f"empty panel {ax.get_title()!r}"


@pytest.mark.parametrize(
    "runs, titles",
    [
        # a standard run logs only the answer's chain index: no per-chain-index panel, no blank cell
        ([fake_run("standard-seed0", 1)], 2),
        ([fake_run("standard-seed0", 1), fake_run("cot-seed0", 3)], 3),
        # special-token runs log no per-chain-index metrics
        ([fake_run("cot_special_token-seed0", 0), fake_run("cot-seed0", 3), fake_run("cot-seed1", 3)], 3),
        ([fake_run("cot-seed0", 2), fake_run("cot_special_token-seed0", 2), fake_run("x-seed0", 4)], 5),
    ],
)
def test_training_curves_draw_only_panels_with_data(runs, titles):
    fig = training_curves_figure(runs, group_by=by_name)
    try:
        assert len(fig.get_axes()) == titles, panel_titles(fig)
        assert_every_panel_has_a_line(fig)
    finally:
        plt.close(fig)


def test_training_curves_without_metrics_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="no metrics to plot"):
        plot_training_curves([Run(tmp_path / "empty", None, [])], tmp_path / "curves.png")


def test_step_axes_are_plain_whole_numbers():
    fig = training_curves_figure([fake_run("cot-seed0", 2, steps=(100_000, 100_004, 100_008))], group_by=by_name)
    try:
        fig.canvas.draw()
        for ax in fig.get_axes():
            labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
            assert labels and all(label.isdigit() for label in labels), labels
            assert not ax.xaxis.get_offset_text().get_text()  # no "+1e5" beside the axis
    finally:
        plt.close(fig)


def test_log_ticks_are_plain_numbers():
    assert log_ticks([1, 2, 4, 8, 16], base=2) == [1, 2, 4, 8, 16]
    assert log_ticks([40, 650]) == [50, 100, 200, 500]
    assert len(log_ticks([40, 70])) >= 2  # less than a decade still gets ticks
    assert [plain_number(v) for v in (0.5, 50, 2000, 20000, 3e6)] == ["0.5", "50", "2000", "20k", "3M"]
    fig, ax = plt.subplots()
    try:
        ax.plot([40, 650], [0, 1])
        plain_log_axis(ax, [40, 650])
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels(minor=True)] + [t.get_text() for t in ax.get_xticklabels()]
        assert [label for label in labels if label] == ["50", "100", "200", "500"]
    finally:
        plt.close(fig)


def test_training_curves_of_several_runs(tiny_runs, tmp_path):
    runs = [load_run(d) for d in tiny_runs.values()]
    assert_png(plot_training_curves(runs, tmp_path / "curves.png"))


def test_attention_map_png(tmp_path):
    args = tiny_args(vocab_size=40)
    rng = np.random.default_rng(0)
    tokens = rng.permutation(40)
    inputs = rng.integers(0, 40, size=(3, 4))
    chains = rng.integers(0, 40, size=(3, 3))
    inputs[-1], chains[-1] = tokens[:4], tokens[4:7]
    parents = np.array([[0, 2], [4, 1], [5, 3]])
    item = hand_item(args, inputs, chains, parents)
    nodes = list(inputs[-1]) + list(chains[-1])
    model = pointer_model(40, {nodes[3]: {nodes[0], nodes[2]}, nodes[4]: {nodes[4], nodes[1]}})
    assert_png(plot_attention_map(attention_map(model, item, args), tmp_path / "map.png"), min_bytes=3000)
