"""Figures of verification and scaling: the scaling plot's n labels never overlap each other or a marker."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt

from tests.helpers import assert_png
from tokenized_cot_icl.analysis.verification_plots import plot_scaling, plot_step_accuracy, scaling_figure


def crowded_records() -> list[dict]:
    """Methods whose points sit on top of each other (same n, nearly the same tokens and accuracy)."""
    records = []
    for k, method in enumerate(("majority", "best_of_n_oracle", "best_of_n_process", "beam_logprob", "custom")):
        for n in (1, 2, 3, 4, 6, 8, 12, 16, 24, 32):
            tokens = 40 * n * (1 + 0.02 * k)
            records.append(
                dict(method=method, n=n, generated_tokens_per_prompt=tokens, accuracy=0.5 + 0.01 * n + 0.005 * k)
            )
    return records


def test_scaling_n_labels_do_not_overlap():
    records = crowded_records()
    fig = scaling_figure(records)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.get_axes()[0]
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts]
        for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
            assert not box_a.overlaps(box_b), f"labels {a!r} and {b!r} overlap"
        points = ax.transData.transform([(r["generated_tokens_per_prompt"], r["accuracy"]) for r in records])
        for text, box in boxes:
            assert not box.count_contains(points), f"label {text!r} covers a marker"
        # every n is labelled somewhere (the crowded low end is where labels collide)
        assert {text for text, _ in boxes} >= {"1", "2", "4", "8", "16", "32"}
        ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert ticks and all(t.isdigit() for t in ticks), ticks  # 50, 100, 200, not 10^2 notation
    finally:
        plt.close(fig)


def test_scaling_and_step_accuracy_pngs(tmp_path):
    assert_png(plot_scaling(crowded_records(), tmp_path / "scaling.png"))
    summary = {
        "per_step": [{"global_accuracy": 0.9, "local_accuracy": 0.95}, {"global_accuracy": 0.7, "local_accuracy": None}]
    }
    assert_png(plot_step_accuracy({"model a": summary, "model b": summary}, tmp_path / "steps.png"), min_bytes=3000)
