"""PNG figures (matplotlib, Agg backend: no display needed).

Every figure draws only panels that have data, and labels its axes with plain numbers: whole steps
(:func:`step_axis`), log scales ticked 1, 2, 4, 8 or 50, 100, 200 (:func:`plain_log_axis`).

- :func:`plot_training_curves`: loss, answer accuracy and per-chain-index accuracy of one or
  more runs on one figure; runs are grouped (by prompt strategy unless told otherwise), a
  group of several seeds is drawn as its mean with a min-max band;
- :func:`plot_attention_map`: one prompt's head-averaged attention with the true DAG edges;
- :func:`plot_coverage`: TokenCoverage over vocabulary size, one line per activation.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter  # noqa: E402

from tokenized_cot_icl.analysis.runs import ANSWER_KEY, Run, chain_index_keys, metric_keys  # noqa: E402

__all__ = [
    "aligned_series",
    "group_runs",
    "log_ticks",
    "plain_log_axis",
    "plain_number",
    "plot_attention_map",
    "plot_chain_token_histogram",
    "plot_coverage",
    "plot_metric_over_steps",
    "plot_training_curves",
    "step_axis",
    "training_curves_figure",
    "training_panels",
]

TRAIN_LOSS_KEYS = ("train/loss", "loss")
EVAL_LOSS_KEY = "eval/loss"
STRATEGY_COLORS = {"standard": "tab:blue", "cot": "tab:orange"}


def _save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No software version or date in a PNG: the same figure is the same bytes (committed figures
    # regenerate byte-identically).
    metadata = {"Software": None} if path.suffix.lower() == ".png" else None
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata=metadata)
    plt.close(fig)
    return path


def _color(label: str, index: int) -> str:
    for key, color in STRATEGY_COLORS.items():
        if label.startswith(key) and not label.startswith(f"{key}_special"):
            return color
    return f"C{(index + 2) % 10}"


def step_axis(ax, axis: str = "x") -> None:
    """Whole numbers on a step axis, written out (no ``1e5`` offsets, no half steps)."""
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(integer=True))
    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    target.set_major_formatter(formatter)


def plain_number(value: float) -> str:
    """``50``, ``200``, ``0.5``, ``12k``, ``3M``: a tick label read at a glance."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:g}M"
    if abs(value) >= 1e4:  # 2000 reads fine as it is
        return f"{value / 1e3:g}k"
    return f"{value:g}"


def log_ticks(values: Iterable[float], base: int = 10) -> list[float]:
    """Ticks for a log axis over ``values``: powers of 2 for ``base=2``, else the 1-2-5 steps (finer
    steps when the data span less than a decade)."""
    positive = [float(v) for v in values if v > 0]
    if not positive:
        return []
    lo, hi = min(positive), max(positive)
    if base == 2:
        return [2.0**k for k in range(math.floor(math.log2(lo)), math.ceil(math.log2(hi)) + 1) if lo <= 2.0**k <= hi]
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks: list[float] = []
    for mantissas in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 8)):
        ticks = [m * 10.0**k for k in decades for m in mantissas if lo / 1.1 <= m * 10.0**k <= hi * 1.1]
        if len(ticks) >= 3:
            break
    return ticks if len(ticks) >= 2 else sorted({float(f"{lo:.2g}"), float(f"{hi:.2g}")})


def plain_log_axis(ax, values: Iterable[float], axis: str = "x", base: int = 10) -> None:
    """A log-scale axis labelled with plain numbers (1, 2, 4, 8 or 50, 100, 200), not ``10^2`` notation."""
    values = list(values)
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log", base=base)
    ticks = log_ticks(values, base)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_ticks(ticks, [plain_number(t) for t in ticks])
    target.set_minor_formatter(NullFormatter())


def group_runs(runs: Sequence[Run], key: Callable[[Run], str] | None = None) -> dict[str, list[Run]]:
    """Runs grouped by ``key(run)`` (default: prompt strategy), in first-seen order."""
    key = key or (lambda run: run.strategy)
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(key(run), []).append(run)
    return groups


def aligned_series(runs: Sequence[Run], metric: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values[run, step])`` on the steps every run logged (for mean and spread)."""
    series = [run.series(metric) for run in runs]
    series = [(s, v) for s, v in series if len(s)]
    if not series:
        return np.array([], dtype=np.int64), np.empty((0, 0))
    common = sorted(set.intersection(*(set(s.tolist()) for s, _ in series)))
    values = np.array([[dict(zip(s.tolist(), v))[step] for step in common] for s, v in series])
    return np.array(common, dtype=np.int64), values


def _draw_group(ax, runs: Sequence[Run], metric: str, color: str, label: str, linestyle: str = "-") -> bool:
    steps, values = aligned_series(runs, metric)
    if not len(steps):
        return False
    if len(values) == 1:
        ax.plot(steps, values[0], color=color, label=label, linestyle=linestyle, marker=".", markersize=3)
        return True
    ax.plot(steps, values.mean(axis=0), color=color, label=f"{label} (mean of {len(values)})", linestyle=linestyle)
    ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=color, alpha=0.2, linewidth=0)
    return True


def _loss_key(runs: Sequence[Run]) -> str | None:
    keys = {k for run in runs for k in metric_keys(run.records)}
    return next((k for k in TRAIN_LOSS_KEYS if k in keys), None)


@dataclass
class _Curve:
    runs: Sequence[Run]
    metric: str
    color: str
    label: str
    linestyle: str = "-"


@dataclass
class _Panel:
    title: str
    curves: list[_Curve]
    accuracy: bool  # y in [0, 1]


def _has_data(curve: _Curve) -> bool:
    return len(aligned_series(curve.runs, curve.metric)[0]) > 0


def training_panels(runs: Sequence[Run], group_by: Callable[[Run], str] | None = None) -> tuple[list, list]:
    """``(overview, per_group)`` panels of :func:`plot_training_curves`, each with at least one curve.

    A group gets a per-chain-index panel only when it logged more than one chain index: a standard
    run decodes only the answer (index 0), which the answer-accuracy panel already shows.
    """
    loss, accuracy, per_group = [], [], []
    for i, (label, members) in enumerate(group_runs(runs, group_by).items()):
        color = _color(label, i)
        loss_key = _loss_key(members)
        if loss_key:
            loss.append(_Curve(members, loss_key, color, f"{label} train"))
        loss.append(_Curve(members, EVAL_LOSS_KEY, color, f"{label} eval", "--"))
        accuracy.append(_Curve(members, ANSWER_KEY, color, label))
        keys = chain_index_keys([k for run in members for k in metric_keys(run.records)])
        chain = [
            _Curve(members, key, f"C{index}", f"y{index + 1}" + (" (answer)" if n == len(keys) - 1 else ""))
            for n, (index, key) in enumerate(keys)
        ]
        chain = [c for c in chain if _has_data(c)]
        if len(chain) > 1:
            per_group.append(_Panel(f"{label}: accuracy per chain index", chain, accuracy=True))
    overview = [
        _Panel("loss (train solid, eval dashed)", [c for c in loss if _has_data(c)], accuracy=False),
        _Panel("answer accuracy (last example)", [c for c in accuracy if _has_data(c)], accuracy=True),
    ]
    return [p for p in overview if p.curves], per_group


def training_curves_figure(
    runs: Sequence[Run], group_by: Callable[[Run], str] | None = None, title: str | None = None
) -> plt.Figure:
    """The figure of :func:`plot_training_curves`, not yet saved (tests inspect its axes)."""
    if not runs:
        raise ValueError("no runs to plot")
    overview, per_group = training_panels(runs, group_by)
    if not overview and not per_group:
        raise ValueError(f"no metrics to plot in {', '.join(run.name for run in runs)}")
    rows = [row for row in (overview, per_group) if row]
    # one grid whose column count both rows divide, so each row is filled edge to edge: no blank cells
    cols = int(np.lcm.reduce([len(row) for row in rows]))
    width = 5.2 * max(len(row) for row in rows)
    fig = plt.figure(figsize=(width, 3.75 * len(rows)))
    grid = fig.add_gridspec(len(rows), cols)
    for r, row in enumerate(rows):
        span = cols // len(row)
        for j, panel in enumerate(row):
            ax = fig.add_subplot(grid[r, j * span : (j + 1) * span])
            for curve in panel.curves:
                _draw_group(ax, curve.runs, curve.metric, curve.color, curve.label, curve.linestyle)
            ax.set_title(panel.title)
            if panel.accuracy:
                ax.set_ylim(-0.02, 1.02)
            ax.set_xlabel("step")
            step_axis(ax)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_training_curves(
    runs: Sequence[Run],
    path: str | os.PathLike,
    group_by: Callable[[Run], str] | None = None,
    title: str | None = None,
) -> Path:
    """Loss and answer accuracy of all groups (top), per-chain-index accuracy per group (bottom).

    The bottom row puts the groups side by side (e.g. cot | cot_special), one panel each; only
    panels with data are drawn.
    """
    return _save(training_curves_figure(runs, group_by, title), path)


def plot_attention_map(amap, path: str | os.PathLike, title: str | None = None) -> Path:
    """One panel per layer: rows = the position predicting y_c, columns = the last example's nodes.

    True parents (the DAG edges) are outlined; grey cells are nodes chain token c cannot depend on.
    """
    layers = amap.weights.shape[0]
    fig, axes = plt.subplots(1, layers, figsize=(1.2 + 0.55 * len(amap.col_labels) * layers, 2.4), squeeze=False)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    for layer, ax in enumerate(axes[0]):
        image = ax.imshow(np.ma.masked_invalid(amap.weights[layer]), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
        for r, c in amap.edges:
            # inset so that two neighbouring parents read as two boxes, not one
            ax.add_patch(plt.Rectangle((c - 0.42, r - 0.42), 0.84, 0.84, fill=False, edgecolor="red", linewidth=2))
        if amap.weights[layer].size <= 400:
            for (r, c), value in np.ndenumerate(amap.weights[layer]):
                if np.isfinite(value):
                    ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=7,
                            color="black" if value > 0.6 else "white")  # fmt: skip
        ax.set_xticks(range(len(amap.col_labels)), amap.col_labels)
        ax.set_yticks(range(len(amap.row_labels)), [f"→{label}" for label in amap.row_labels])
        ax.set_title(f"layer {layer}")
    fig.colorbar(image, ax=list(axes[0]), fraction=0.03, label="attention (renormalised)")
    fig.suptitle(title or "attention of the last example (red: true DAG parents)", y=1.12)
    return _save(fig, path)


def plot_coverage(rows, path: str | os.PathLike, title: str | None = None) -> Path:
    """TokenCoverage (left) and the answer-only coverage (right) against vocabulary size."""
    from tokenized_cot_icl.analysis.coverage import coverage_matrix

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, field, label in (
        (axes[0], "token_coverage", "TokenCoverage (all chain tokens)"),
        (axes[1], "answer_coverage", "coverage of the answer token"),
    ):
        vocabs, acts, values = coverage_matrix(rows, field)
        for j, act in enumerate(acts):
            ax.plot(vocabs, values[:, j], marker="o", label=act)
        ax.set_xscale("log", base=2)
        ax.set_xticks(vocabs, [str(v) for v in vocabs])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("vocabulary size")
        ax.set_title(label)
        ax.grid(alpha=0.3)
        ax.legend(title="activation", fontsize=8)
    n = rows[0].n_prompts if rows else 0
    fig.suptitle(title or f"distinct chain tokens / ordinary tokens ({n} prompts per cell)")
    fig.tight_layout()
    return _save(fig, path)


def plot_chain_token_histogram(counts: np.ndarray, path: str | os.PathLike, title: str | None = None) -> Path:
    """Rank-frequency of chain tokens: how concentrated the argmax outputs are."""
    counts = np.sort(np.asarray(counts))[::-1]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    nonzero = counts[counts > 0]
    ax.bar(np.arange(1, len(nonzero) + 1), nonzero / max(1, counts.sum()), width=1.0)
    ax.set_xlabel("chain token rank")
    step_axis(ax)
    ax.set_ylabel("share of chain tokens")
    ax.set_title(title or f"{len(nonzero)} of {len(counts)} ordinary tokens appear in chains")
    fig.tight_layout()
    return _save(fig, path)


def plot_metric_over_steps(
    series: dict[str, tuple[Sequence[int], Sequence[float]]], path: str | os.PathLike, ylabel: str, baseline=None
) -> Path:
    """A small line plot of named series (e.g. attention recovery per layer over checkpoints)."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for label, (x, y) in series.items():
        ax.plot(x, y, marker="o", label=label)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle=":", label="uniform baseline")
    ax.set_xlabel("step")
    step_axis(ax)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
