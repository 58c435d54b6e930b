"""PNG figures (matplotlib, Agg backend: no display needed).

- :func:`plot_training_curves`: loss, answer accuracy and per-chain-index accuracy of one or
  more runs on one figure; runs are grouped (by prompt strategy unless told otherwise), a
  group of several seeds is drawn as its mean with a min-max band;
- :func:`plot_attention_map`: one prompt's head-averaged attention with the true DAG edges;
- :func:`plot_coverage`: TokenCoverage over vocabulary size, one line per activation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tokenized_cot_icl.analysis.runs import ANSWER_KEY, Run, chain_index_keys, metric_keys  # noqa: E402

TRAIN_LOSS_KEYS = ("train/loss", "loss")
EVAL_LOSS_KEY = "eval/loss"
STRATEGY_COLORS = {"standard": "tab:blue", "cot": "tab:orange"}


def _save(fig: plt.Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def _color(label: str, index: int) -> str:
    for key, color in STRATEGY_COLORS.items():
        if label.startswith(key) and not label.startswith(f"{key}_special"):
            return color
    return f"C{(index + 2) % 10}"


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


def plot_training_curves(
    runs: Sequence[Run],
    path: str | os.PathLike,
    group_by: Callable[[Run], str] | None = None,
    title: str | None = None,
) -> Path:
    """Loss and answer accuracy of all groups (top), per-chain-index accuracy per group (bottom).

    The bottom row puts the groups side by side (e.g. standard | cot), one panel each.
    """
    if not runs:
        raise ValueError("no runs to plot")
    groups = group_runs(runs, group_by)
    fig, axes = plt.subplots(2, max(2, len(groups)), figsize=(5.2 * max(2, len(groups)), 7.5), squeeze=False)
    loss_ax, acc_ax = axes[0, 0], axes[0, 1]
    for ax in axes[0, 2:]:
        ax.axis("off")
    for i, (label, members) in enumerate(groups.items()):
        color = _color(label, i)
        loss_key = _loss_key(members)
        if loss_key:
            _draw_group(loss_ax, members, loss_key, color, f"{label} train")
        _draw_group(loss_ax, members, EVAL_LOSS_KEY, color, f"{label} eval", linestyle="--")
        _draw_group(acc_ax, members, ANSWER_KEY, color, label)
        ax = axes[1, i]
        keys = chain_index_keys([k for run in members for k in metric_keys(run.records)])
        for index, key in keys:
            # a standard run decodes only the answer, logged as index 0
            name = "answer" if len(keys) == 1 else f"y{index + 1}" + (" (answer)" if index == len(keys) - 1 else "")
            _draw_group(ax, members, key, f"C{index}", name)
        ax.set_title(f"{label}: accuracy per chain index")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("step")
        if keys:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "no per-chain-index metrics", ha="center", va="center", transform=ax.transAxes)
    for ax in axes[1, len(groups) :]:
        ax.axis("off")
    loss_ax.set_title("loss (train solid, eval dashed)")
    acc_ax.set_title("answer accuracy (last example)")
    acc_ax.set_ylim(-0.02, 1.02)
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


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
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)
