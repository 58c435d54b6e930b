"""The figures of the two studies (PNG): Study 1's phase diagram, skill curves and forest plot, Study 2's bars.

Every figure is saved without the writing software's version in its metadata, so the same numbers
give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Colour of a cell's transition verdict ("CoT reaches skill 0.5 sooner"), by its first word.
VERDICT_COLORS = {
    "supported": "tab:orange",
    "contradicted": "tab:blue",
    "inconclusive": "0.8",
    "not tested": "white",
    "not run": "0.93",
}
LEANING_COLORS = {False: "#fdd9b5", True: "#b5d4f0"}  # inconclusive, interval below / above 0
STRATEGY_COLORS = {"standard": "tab:blue", "cot": "tab:orange"}


def verdict_color(verdict: str) -> str:
    return next(color for word, color in VERDICT_COLORS.items() if verdict.startswith(word))


def phase_diagram(cells, path: Path, title: str) -> Path:
    """One box per Study 1 cell: columns = diversity of H, rows = (DAG, C, K, layers); colour = the cell's verdict.

    Light orange / blue: inconclusive, but the interval lies below / above 0. Each box prints the verdict, the paired cot − std transition-step difference [95% CI] and how
    many runs of each strategy reached skill 0.5.
    """
    import matplotlib.pyplot as plt

    from studies.effects import cell_effects, interval, transition_verdict
    from studies.study1 import h_diversity

    def row(c) -> tuple:
        return (c.args.dag_strategy, c.args.chain_length, c.args.n_examples, c.args.num_hidden_layers)

    columns = sorted({h_diversity(c.args) for c in cells}, key=_h_order)
    rows = sorted({row(c) for c in cells})
    fig, ax = plt.subplots(figsize=(2.9 * len(columns) + 1.8, 1.25 * len(rows) + 1.2))
    for c in cells:
        x, y = columns.index(h_diversity(c.args)), rows.index(row(c))
        e = cell_effects(c)
        verdict = transition_verdict(e)
        color = verdict_color(verdict)
        if verdict.startswith("inconclusive") and e.transition.excludes_zero:
            color = LEANING_COLORS[e.transition.mean > 0]  # the interval leaves 0 but p does not
        ax.add_patch(plt.Rectangle((x, y), 0.96, 0.92, color=color, ec="0.3"))
        text = verdict.split(" (")[0]
        if e.transition is not None:
            text += f"\ncot − std {interval(e.transition)}"
            text += f"\nreached: std {e.reached_standard}, cot {e.reached_cot} of {e.n_pairs}"
        ax.text(x + 0.48, y + 0.46, text, ha="center", va="center", fontsize=7)
    ax.set_xlim(0, len(columns))
    ax.set_ylim(0, len(rows))
    ax.set_xticks([i + 0.48 for i in range(len(columns))], [f"H: {c}" for c in columns])
    labels = [f"DAG {d}, C={c}, K={k}, {layers} layer(s)" for d, c, k, layers in rows]
    ax.set_yticks([i + 0.46 for i in range(len(rows))], labels, fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def _h_order(label: str) -> tuple[int, int]:
    if label == "fixed":
        return (0, 0)
    if label.startswith("pool of "):
        return (1, int(label.split()[-1]))
    return (2, 0)


def save(fig, path: Path) -> Path:
    """Writes ``fig`` as PNG with no Software entry (the bytes depend only on what is drawn)."""
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return path


def panel_grid(n: int):
    """A figure with ``n`` panels, at most three per row; returns ``(fig, axes)`` with ``axes`` flat."""
    import matplotlib.pyplot as plt

    cols = min(3, max(1, n))
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.3 * rows), squeeze=False)
    return fig, axes.ravel()


def band(ax, steps, values: np.ndarray, color, label: str, alpha: float) -> None:
    """The mean over rows of ``values`` as a line, with its min-max band."""
    ax.plot(steps, values.mean(axis=0), color=color, label=label)
    ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=color, alpha=alpha, linewidth=0)


def finish_panels(fig, axes, used: int, title: str, path: Path) -> Path:
    """Labels the used panels, hides the rest, titles the figure and saves it."""
    for ax in axes[:used]:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes[used:]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def cell_curves(cells, path: Path, title: str) -> Path:
    """Skill above the majority answer over training, one panel per trained cell (mean, min-max band over seeds).

    Dotted vertical lines: each strategy's mean transition step (censored at the budget).
    """

    from studies.effects import cell_effects, transition_verdict
    from studies.study1 import h_diversity

    trained = [c for c in cells if c.standard or c.cot]
    fig, axes = panel_grid(len(trained))
    for ax, c in zip(axes, trained):
        effects = cell_effects(c)
        means = {"standard": effects.mean_standard, "cot": effects.mean_cot}
        for strategy, runs in (("standard", c.standard), ("cot", c.cot)):
            if not runs:
                continue
            steps = runs[0].steps
            skill = np.array([r.skill[: len(steps)] for r in runs if len(r.steps) == len(steps)])
            color = STRATEGY_COLORS[strategy]
            band(ax, steps, skill, color, f"{strategy} ({len(skill)} seeds)", 0.2)
            if means[strategy] is not None:
                ax.axvline(means[strategy], color=color, linestyle=":", linewidth=1)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        a = c.args
        verdict = transition_verdict(effects).split(" (")[0]
        ax.set_title(f"{c.cell}\nH {h_diversity(a)}, DAG {a.dag_strategy}, C={a.chain_length}: {verdict}", fontsize=8)
        ax.set_ylim(-0.3, 1.02)
        ax.set_ylabel("skill above majority answer")
    return finish_panels(fig, axes, len(trained), title, path)


def forest_plot(cells, path: Path, title: str) -> Path:
    """Mean paired cot − standard transition-step difference per cell with its 95% bootstrap interval, and pooled.

    Left of zero: cot reaches skill 0.5 first. Runs that never reach it count at their budget.
    """
    import matplotlib.pyplot as plt

    from studies.effects import cell_effects, dag_strata, pooled_transition, transition_regime
    from studies.study1 import h_diversity

    effects = [e for e in (cell_effects(c) for c in cells) if e.transition is not None]
    regime = transition_regime(effects)
    pooled = [(f"pooled, {len(regime)} cells", pooled_transition(regime))]
    pooled += [
        (f"pooled, DAG {dag}, {len(cells)} cells", pooled_transition(cells)) for dag, cells in dag_strata(regime)
    ]
    pooled = [(label, effect) for label, effect in pooled if effect is not None]
    rows = [(e.cell.cell, e.cell.args, e.transition, e) for e in effects]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * (len(rows) + len(pooled)) + 1.4))
    labels, ticks = [], []
    for y, (name, a, effect, e) in enumerate(reversed(rows)):
        color = "0.6" if not e.timed else ("tab:orange" if effect.high < 0 else "tab:blue" if effect.low > 0 else "k")
        # orange / blue: the interval lies below / above 0; black: it spans 0; grey: no run reached skill 0.5
        ax.plot([effect.low, effect.high], [y, y], color=color, linewidth=2)
        ax.plot([effect.mean], [y], "o", color=color)
        labels.append(f"{name} (H {h_diversity(a)}, {a.dag_strategy}, C={a.chain_length}; n={effect.n})")
        ticks.append(y)
    for i, (label, effect) in enumerate(pooled):
        y = -1.3 - i
        ax.plot([effect.low, effect.high], [y, y], color="k", linewidth=3)
        ax.plot([effect.mean], [y], "D", color="k")
        labels.append(f"{label} (n={effect.n})")
        ticks.append(y)
    ax.set_yticks(ticks, labels)
    ax.axvline(0, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(
        "cot − standard transition step (steps; < 0: cot reaches skill 0.5 first), mean [95% CI]\n"
        "orange / blue: interval below / above 0; black: spans 0; grey: no run reached skill 0.5"
    )
    ax.tick_params(axis="y", labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)


def cot_step_curves(cells, path: Path, title: str) -> Path:
    """Accuracy of each chain token y1..yC of the cot runs over training, one panel per cell with cot runs.

    Mean over seeds with a min-max band; yC is the answer. Raw accuracy, not skill: each chain
    position has its own majority share.
    """
    import matplotlib.pyplot as plt

    from studies.study1 import h_diversity

    trained = [c for c in cells if any(r.per_index_curves is not None for r in c.cot)]
    fig, axes = panel_grid(len(trained))
    colors = plt.get_cmap("viridis")
    for ax, c in zip(axes, trained):
        runs = [r for r in c.cot if r.per_index_curves is not None]
        steps = runs[0].steps
        curves = np.array([r.per_index_curves[:, : len(steps)] for r in runs if len(r.steps) == len(steps)])
        chain = curves.shape[1]
        for k in range(chain):
            color = colors(k / max(1, chain - 1) * 0.85)
            label = f"y{k + 1}" + (" (answer)" if k == chain - 1 else "")
            band(ax, steps, curves[:, k], color, label, 0.15)
        a = c.args
        ax.set_title(
            f"{c.cell} ({len(curves)} seed{'s' * (len(curves) != 1)})\nH {h_diversity(a)}, DAG {a.dag_strategy}, C={a.chain_length}",
            fontsize=8,
        )
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("accuracy of the chain token")
    return finish_panels(fig, axes, len(trained), title, path)


def study1_figures(cells, fig_dir: Path, stem: str = "study1") -> dict[str, Path]:
    """Study 1's four figures, keyed as :func:`studies.study_markdown.study1_lines` places them."""
    fig_dir = Path(fig_dir)
    curves = "Study 1: skill above the majority answer, mean over seeds (band: min–max; dotted: mean transition step)"
    steps = "Study 1: cot runs' accuracy of each chain token over training, mean over seeds (band: min–max)"
    return {
        "phase": phase_diagram(cells, fig_dir / f"{stem}_phase_diagram.png", "Study 1: verdict per cell"),
        "forest": forest_plot(cells, fig_dir / f"{stem}_forest.png", "Study 1: paired cot − standard transition step"),
        "curves": cell_curves(cells, fig_dir / f"{stem}_curves.png", curves),
        "steps": cot_step_curves(cells, fig_dir / f"{stem}_cot_steps.png", steps),
    }


def recipe_bars(recipes, path: Path, title: str) -> Path:
    """Free-generation answer accuracy per training recipe at each test-time CoT fraction (mean, seed dots)."""
    import matplotlib.pyplot as plt

    from studies.study2 import FRACTIONS, MODE_NAMES, MODES

    fig, axes = plt.subplots(1, len(MODES), figsize=(4.6 * len(MODES), 3.6), squeeze=False, sharey=True)
    width = 0.8 / max(1, len(recipes))
    for ax, mode in zip(axes[0], MODES):
        for i, r in enumerate(recipes):
            for j, fraction in enumerate(FRACTIONS):
                values = r.accuracy(fraction, mode)
                if not len(values):
                    continue
                x = j + (i - (len(recipes) - 1) / 2) * width
                ax.bar(x, values.mean(), width=width * 0.95, color=f"C{i}", label=r.label if j == 0 else None)
                ax.scatter([x] * len(values), values, color="black", s=6, zorder=3)
        ax.set_xticks(range(len(FRACTIONS)), [f"{f:g} of demos CoT" for f in FRACTIONS])
        ax.set_title(MODE_NAMES[mode], fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3, axis="y")
    axes[0, 0].set_ylabel("answer accuracy")
    axes[0, 0].legend(fontsize=7, title="training recipe", title_fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
