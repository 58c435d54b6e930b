"""Figures of stepwise verification and inference-time scaling (PNG, Agg backend).

- :func:`plot_scaling`: accuracy against generated tokens per prompt (log scale, plain tick
  numbers), one curve per method, each point labelled with its ``n`` (samples, beam width or
  interventions) where the label does not cover another;
- :func:`plot_step_accuracy`: per chain step, global and local accuracy of one or more models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.transforms import Bbox

from tokenized_cot_icl.analysis.plots import _save, plain_log_axis, plt

__all__ = ["METHOD_STYLE", "place_labels", "plot_scaling", "plot_step_accuracy", "scaling_figure"]

METHOD_STYLE = {
    "majority": ("tab:blue", "o"),
    "best_of_n_oracle": ("black", "^"),
    "best_of_n_process": ("tab:green", "s"),
    "best_of_n_logprob": ("tab:purple", "D"),
    "beam_logprob": ("tab:orange", "v"),
    "beam_process": ("tab:red", "P"),
    "intervene": ("tab:brown", "X"),
}
# Where an n label may sit relative to its point (points): above right first, then around it.
LABEL_OFFSETS = ((4, 4), (4, -11), (-11, 4), (-11, -11), (4, 12), (4, -19), (-11, 12), (-11, -19), (4, 20), (-11, 20))


def place_labels(ax, points: Sequence[tuple[float, float, str, str]], fontsize: int = 7) -> list:
    """Annotates ``(x, y, text, color)`` points so that no label overlaps another label or a marker.

    Each label tries a few offsets around its point and takes the first whose box is clear of the
    labels placed so far and of every point's marker; the same text at (nearly) the same spot is
    written once, in grey when the points it stands for have different colours; a label with no
    clear offset is left out rather than drawn over another. Call it once the axes' scales and
    limits are final.
    """
    renderer = ax.figure.canvas.get_renderer()
    pixels_per_point = ax.figure.dpi / 72
    near = 2 * fontsize * pixels_per_point  # two label heights
    radius = matplotlib.rcParams["lines.markersize"] / 2 * pixels_per_point + 1
    markers = [
        Bbox.from_extents(px - radius, py - radius, px + radius, py + radius)
        for px, py in (ax.transData.transform((x, y)) for x, y, *_ in points)
    ]
    placed: list[tuple[Any, str, np.ndarray, Any]] = []  # (box, text, point in pixels, artist)
    for x, y, text, color in points:
        pixel = ax.transData.transform((x, y))
        twin = next((p for p in placed if p[1] == text and np.hypot(*(p[2] - pixel)) < near), None)
        if twin is not None:
            if twin[3].get_color() != color:
                twin[3].set_color("dimgray")
            continue
        for dx, dy in LABEL_OFFSETS:
            artist = ax.annotate(
                text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize, color=color
            )
            box = artist.get_window_extent(renderer)
            padded = box.padded(2)  # a gap between labels, so that "16" "16" never reads "1616"
            if not any(padded.overlaps(other) for other, *_ in placed) and not box.count_overlaps(markers):
                placed.append((padded, text, pixel, artist))
                break
            artist.remove()
    return [p[3] for p in placed]


def scaling_figure(records: Sequence[Mapping[str, Any]], title: str = "") -> plt.Figure:
    """The figure of :func:`plot_scaling`, not yet saved (tests inspect its labels)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    methods = list(dict.fromkeys(r["method"] for r in records))
    labels, xs = [], []
    for i, method in enumerate(methods):
        rows = sorted((r for r in records if r["method"] == method), key=lambda r: r["generated_tokens_per_prompt"])
        color, marker = METHOD_STYLE.get(method, (f"C{i % 10}", "o"))
        x = [max(r["generated_tokens_per_prompt"], 1e-3) for r in rows]
        y = [r["accuracy"] for r in rows]
        ax.plot(x, y, marker=marker, color=color, label=method, linestyle="--" if "oracle" in method else "-")
        labels += [(xi, yi, str(r["n"]), color) for xi, yi, r in zip(x, y, rows)]
        xs += x
    plain_log_axis(ax, xs)
    ax.set_xlabel("generated tokens per prompt (log scale)")
    ax.set_ylabel("answer accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(title or "accuracy against inference compute (labels: n)")
    place_labels(ax, labels)
    return fig


def plot_scaling(records: Sequence[Mapping[str, Any]], path: str | os.PathLike, title: str = "") -> Path:
    """One curve per method: accuracy over ``generated_tokens_per_prompt`` (log x), points labelled with n."""
    return _save(scaling_figure(records, title), path)


def plot_step_accuracy(summaries: Mapping[str, Mapping[str, Any]], path: str | os.PathLike) -> Path:
    """Grouped bars per chain step: global (solid) and local (hatched) accuracy for each model."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    labels = list(summaries)
    width = 0.8 / max(2 * len(labels), 1)
    for i, label in enumerate(labels):
        rows = summaries[label]["per_step"]
        steps = np.arange(len(rows))
        for j, key in enumerate(("global_accuracy", "local_accuracy")):
            values = [row[key] if row[key] is not None else np.nan for row in rows]
            offset = (2 * i + j) * width - 0.4 + width / 2
            ax.bar(
                steps + offset, values, width, color=f"C{i}", alpha=1.0 if j == 0 else 0.55,
                hatch=None if j == 0 else "//", label=f"{label}: {key.split('_')[0]}",
            )  # fmt: skip
    n_steps = max(len(summaries[label]["per_step"]) for label in labels) if labels else 0
    ax.set_xticks(range(n_steps), [f"y{c + 1}" for c in range(n_steps)])
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("per-step accuracy: global (== true token) and local (== rule on the model's own parents)")
    return _save(fig, path)
