"""The figures of the two studies (PNG): Study 1's phase diagram and skill curves, Study 2's recipe bars."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PHASE_COLORS = {
    "cot faster": "tab:orange",
    "standard faster": "tab:blue",
    "no clear difference": "0.75",
    "neither learns": "white",
    "not run": "0.93",
}
STRATEGY_COLORS = {"standard": "tab:blue", "cot": "tab:orange"}


def phase_diagram(cells, path: Path, title: str) -> Path:
    """One box per Study 1 cell: columns = diversity of H, rows = (C, K, layers); colour = phase."""
    import matplotlib.pyplot as plt

    from studies.study1 import h_diversity, mean_or_none
    from tokenized_cot_icl.analysis.plots import _save

    columns = sorted({h_diversity(c.args) for c in cells}, key=_h_order)
    rows = sorted({(c.args.chain_length, c.args.n_examples, c.args.num_hidden_layers) for c in cells})
    fig, ax = plt.subplots(figsize=(2.6 * len(columns) + 1.5, 1.25 * len(rows) + 1.2))
    for c in cells:
        x = columns.index(h_diversity(c.args))
        y = rows.index((c.args.chain_length, c.args.n_examples, c.args.num_hidden_layers))
        ax.add_patch(plt.Rectangle((x, y), 0.96, 0.92, color=PHASE_COLORS[c.phase], ec="0.3"))
        text = c.phase
        if c.phase not in ("not run", "neither learns"):
            s = mean_or_none([r.crossing for r in c.standard])
            t = mean_or_none([r.crossing for r in c.cot])
            text += f"\nskill 0.5 at: std {_step_text(s)}, cot {_step_text(t)}"
        if c.phase != "not run":
            text += f"\n{len(c.pairs)} seed pair(s)"
        ax.text(x + 0.48, y + 0.46, text, ha="center", va="center", fontsize=7.5)
    ax.set_xlim(0, len(columns))
    ax.set_ylim(0, len(rows))
    ax.set_xticks([i + 0.48 for i in range(len(columns))], [f"H: {c}" for c in columns])
    ax.set_yticks([i + 0.46 for i in range(len(rows))], [f"C={c}, K={k}, {layers} layer(s)" for c, k, layers in rows])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _h_order(label: str) -> tuple[int, int]:
    if label == "fixed":
        return (0, 0)
    if label.startswith("pool of "):
        return (1, int(label.split()[-1]))
    return (2, 0)


def _step_text(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f}"


def cell_curves(cells, path: Path, title: str) -> Path:
    """Skill above the majority answer over training, one panel per trained cell (mean, min-max band)."""
    import matplotlib.pyplot as plt

    from tokenized_cot_icl.analysis.plots import _save

    trained = [c for c in cells if c.standard or c.cot]
    cols = min(3, max(1, len(trained)))
    rows = max(1, -(-len(trained) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.3 * rows), squeeze=False)
    for ax, c in zip(axes.ravel(), trained):
        for strategy, runs in (("standard", c.standard), ("cot", c.cot)):
            if not runs:
                continue
            steps = runs[0].steps
            skill = np.array([r.skill[: len(steps)] for r in runs if len(r.steps) == len(steps)])
            color = STRATEGY_COLORS[strategy]
            ax.plot(steps, skill.mean(axis=0), color=color, label=f"{strategy} ({len(skill)} seeds)")
            ax.fill_between(steps, skill.min(axis=0), skill.max(axis=0), color=color, alpha=0.2, linewidth=0)
        ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        ax.set_title(f"{c.cell}: {c.phase}", fontsize=9)
        ax.set_ylim(-0.3, 1.02)
        ax.set_xlabel("step")
        ax.set_ylabel("skill above majority answer")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in axes.ravel()[len(trained) :]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def recipe_bars(recipes, path: Path, title: str) -> Path:
    """Free-generation answer accuracy per training recipe at each test-time CoT fraction (mean, seed dots)."""
    import matplotlib.pyplot as plt

    from studies.study2 import FRACTIONS, MODE_NAMES, MODES
    from tokenized_cot_icl.analysis.plots import _save

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
    return _save(fig, path)
