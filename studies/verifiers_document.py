"""docs/VERIFIERS.md and its figures, from docs/verifiers/*.json alone (studies.verifiers writes them).

Nothing on the page is typed by hand: every number is read from the result files, and the sentences
that compare numbers are stated from them (a difference smaller than the seeds' spread is said to be
within it).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from studies import verifiers as V
from studies.figures import save

VERIFIER_COLORS = {
    "exact": "black", "prm": "tab:blue", "orm": "tab:orange", V.noisy_name(*V.NOISY[0]): "tab:green",
    V.noisy_name(*V.NOISY[1]): "tab:red", "logprob": "tab:purple",
}  # fmt: skip
METHOD_COLORS = {"best_of_n": "tab:blue", "weighted_majority": "tab:cyan", "beam": "tab:orange",
                 "particle_filter": "tab:green", "particle_filter (T=0.1)": "tab:olive"}  # fmt: skip
REALISTIC = ("prm", "orm", "logprob")  # verifiers a practitioner could run (not the oracle, not the dial)
BINS = ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0))
BUDGETS = (2, 4, 8, 16, 32)


# ---- reading ------------------------------------------------------------------------------------------------
def load(data_dir: Path) -> dict[str, Any]:
    def read(name: str):
        path = data_dir / name
        return json.loads(path.read_text()) if path.is_file() else None

    models = read("models.json") or []
    names = [m["name"] for m in models]
    scaling = {
        m: [r for f in sorted(data_dir.glob(f"{m}-scaling-*.json")) for r in json.loads(f.read_text())["records"]]
        for m in names
    }
    seconds = {
        m: sum(json.loads(f.read_text())["seconds"] for f in sorted(data_dir.glob(f"{m}-scaling-*.json")))
        for m in names
    }
    return {
        "models": models, "scaling": scaling, "scaling_seconds": seconds, "quality": read("verifiers.json") or {},
        "ceiling": {m: read(f"{m}-ceiling.json") for m in names}, "gap": read(f"{V.GAP_MODEL}-label-counts.json"),
        "train_seeds": read(f"{V.GAP_MODEL}-train-seeds.json"),
    }  # fmt: skip


def series_name(r: dict) -> str:
    if r["method"] == "particle_filter" and r.get("resample_temperature", 1.0) != 1.0:
        return f"particle_filter (T={r['resample_temperature']:g})"
    return r["method"]


def curves(records: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """(series, verifier) -> points by n: tokens, per-seed accuracies, per-prompt accuracy (mean over seeds)."""
    grouped: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
    for r in records:
        grouped[(series_name(r), r["verifier"], r["n"])].append(r)
    out: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for (series, verifier, n), rs in sorted(grouped.items()):
        rs = sorted(rs, key=lambda r: r["seed"])
        out[(series, verifier)].append({
            "n": n, "tokens": float(np.mean([r["generated_tokens_per_prompt"] for r in rs])),
            "scored": float(np.mean([r.get("verifier_scored_tokens_per_prompt", 0.0) for r in rs])),
            "acc": [r["accuracy"] for r in rs], "seeds": [r["seed"] for r in rs],
            "per_prompt": np.mean([r["per_prompt_accuracy"] for r in rs], axis=0),
        })  # fmt: skip
    return out


# ---- numbers as text ------------------------------------------------------------------------------------------
def ms(values, digits: int = 3) -> str:
    """mean ± sd over seeds; one value (a deterministic search) is shown alone."""
    a = np.asarray(values, dtype=float)
    if len(a) == 1:
        return f"{a[0]:.{digits}f}"
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}"


def relation(a, b) -> str:
    """How mean(a) stands to mean(b): above / below, or within the seeds' spread (|diff| <= sd_a + sd_b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    sd = lambda x: x.std(ddof=1) if len(x) > 1 else 0.0  # noqa: E731
    diff = a.mean() - b.mean()
    if abs(diff) <= sd(a) + sd(b):
        return "within the seeds' spread of"
    return "above" if diff > 0 else "below"


def _fmt(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def at_budget(points: list[dict], budget: float):
    """The best point a method reaches within ``budget`` generated tokens per prompt (None: none fits)."""
    fitting = [p for p in points if p["tokens"] <= budget + 1e-9]
    return max(fitting, key=lambda p: float(np.mean(p["acc"]))) if fitting else None


# ---- figures --------------------------------------------------------------------------------------------------
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _line(ax, points, label, color, **kw) -> None:
    xs = [p["tokens"] for p in points]
    means = [float(np.mean(p["acc"])) for p in points]
    sds = [float(np.std(p["acc"], ddof=1)) if len(p["acc"]) > 1 else 0.0 for p in points]
    ax.errorbar(xs, means, yerr=sds, marker="o", ms=3, capsize=2, lw=1.2, color=color, label=label, **kw)


def compute_figure(model: str, c: dict, pass1: float, path: Path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(1, len(V.METHODS), figsize=(4.1 * len(V.METHODS), 3.6), sharey=True)
    for ax, method in zip(axes, V.METHODS):
        for verifier in V.verifier_names():
            if (method, verifier) in c:
                _line(ax, c[(method, verifier)], verifier, VERIFIER_COLORS[verifier])
        ax.axhline(pass1, color="0.5", ls=":", lw=1, label="pass@1")
        ax.set_xscale("log", base=2)
        ax.set_title(method, fontsize=10)
        ax.set_xlabel("generated tokens per prompt")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("answer accuracy")
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(f"{model}: mean ± sd over {len(V.SEEDS)} seeds ({V.N_PROMPTS} prompts; measured on 2 CPU cores)",
                 fontsize=9)  # fmt: skip
    fig.tight_layout()
    return save(fig, path)


def gap_figure(rows: list[dict], exact: dict[str, list[float]], path: Path, pass1=None) -> Path:
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    for kind, color in (("prm", "tab:blue"), ("orm", "tab:orange")):
        rs = sorted((r for r in rows if r["kind"] == kind), key=lambda r: r["n_labels"])
        xs = [r["n_labels"] for r in rs]
        a1.errorbar(xs, [np.mean(r["best_of_n"]) for r in rs], yerr=[np.std(r["best_of_n"], ddof=1) for r in rs],
                    marker="o", ms=3, capsize=2, color=color, label=f"best-of-{V.GAP_N}, {kind}")  # fmt: skip
        a1.plot(xs, [np.mean(r["beam"]) for r in rs], marker="s", ms=3, ls="--", color=color,
                label=f"beam W={V.GAP_WIDTH}, {kind}")  # fmt: skip
        a2.plot(xs, [r["step"]["auroc"] for r in rs], marker="o", ms=3, color=color, label=f"{kind}: step AUROC")
        a2.plot(xs, [r["outcome"]["auroc"] for r in rs], marker="s", ms=3, ls="--", color=color,
                label=f"{kind}: outcome AUROC")  # fmt: skip
    a1.axhline(np.mean(exact["best_of_n"]), color="black", lw=1, label=f"best-of-{V.GAP_N}, exact")
    a1.axhline(np.mean(exact["beam"]), color="black", lw=1, ls="--", label=f"beam W={V.GAP_WIDTH}, exact")
    if pass1 is not None:
        a1.axhline(pass1, color="0.5", ls=":", lw=1, label="pass@1")
    a2.axhline(0.5, color="0.5", ls=":", lw=1)
    for ax, ylabel in ((a1, "answer accuracy"), (a2, "AUROC on held-out prompts")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("labelled samples the verifier trained on")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def ceiling_figure(ceilings: dict[str, dict], path: Path) -> Path:
    plt = _plt()
    names = [m for m, c in ceilings.items() if c]
    fig, axes = plt.subplots(1, len(names), figsize=(5.4 * len(names), 3.8), squeeze=False)
    for ax, model in zip(axes[0], names):
        c = ceilings[model]
        for (fp, fn), color in zip(V.NOISY, ("tab:green", "tab:red")):
            for errors, marker, ls in (("independent", "o", "-"), ("consistent", "^", "-.")):
                pts = [x for x in c["curves"] if (x["fp"], x["fn"], x["errors"]) == (fp, fn, errors)]
                ns = sorted({x["n"] for x in pts})
                vals = [[x["accuracy"] for x in pts if x["n"] == n] for n in ns]
                ax.errorbar(ns, [np.mean(v) for v in vals], yerr=[np.std(v, ddof=1) for v in vals], marker=marker,
                            ms=3, ls=ls, capsize=2, color=color, label=f"fp={fp:g}: measured, {errors} errors")  # fmt: skip
            pred = [x for x in c["predicted"] if (x["fp"], x["fn"]) == (fp, fn)]
            ax.plot([x["n"] for x in pred], [x["accuracy"] for x in pred], ls=":", color=color, lw=1.5,
                    label=f"fp={fp:g}: predicted (finite N)")  # fmt: skip
            plateau = next(x for x in c["plateaus"] if (x["fp"], x["fn"]) == (fp, fn))
            ax.axhline(plateau["per_prompt"], color=color, lw=0.8, ls="--", label=f"fp={fp:g}: predicted plateau")
        ax.axhline(float(np.mean(c["pass_rate"])), color="0.5", lw=1, ls=":", label="pass@1")
        ax.set_xscale("log", base=2)
        ax.set_title(f"{model}: outcome-level best-of-N, fn={V.NOISY[0][1]:g}", fontsize=10)
        ax.set_xlabel("N (samples per prompt)")
        ax.set_ylabel("answer accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6.5)
    fig.tight_layout()
    return save(fig, path)


def equal_tokens_figure(data: dict, path: Path) -> Path:
    plt = _plt()
    names = [m["name"] for m in data["models"]]
    shown = ("exact", "prm", "logprob")
    fig, axes = plt.subplots(len(names), len(shown), figsize=(4.3 * len(shown), 3.3 * len(names)), squeeze=False)
    for row, model in zip(axes, names):
        c = curves(data["scaling"][model])
        for ax, verifier in zip(row, shown):
            for series, color in METHOD_COLORS.items():
                if series != "weighted_majority" and (series, verifier) in c:
                    _line(ax, c[(series, verifier)], series, color)
            ax.set_xscale("log", base=2)
            ax.set_title(f"{model}, {verifier} verifier", fontsize=10)
            ax.set_xlabel("generated tokens per prompt")
            ax.grid(alpha=0.3)
        row[0].set_ylabel("answer accuracy")
        row[0].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


# ---- the sections -------------------------------------------------------------------------------------------
def difficulty_bins(pass_rate: list[float]) -> list[np.ndarray]:
    p = np.asarray(pass_rate)
    return [np.flatnonzero((p >= lo) & ((p < hi) if hi < 1.0 else (p <= hi))) for lo, hi in BINS]


def _point_label(series: str, verifier: str, n: int, many: bool) -> str:
    """What a point is: at n=1 no verifier chooses (beam search of width 1 is greedy decoding; one sample or one
    particle is plain sampling), so those points carry no verifier's name."""
    if n == 1:
        return "greedy" if series == "beam" else "one sample"
    return f"{series} ({verifier}, n={n})" if many else f"{series} (n={n})"


def best_per_bin(c: dict, verifiers, bins: list[np.ndarray], budget: float) -> list[str]:
    """Per bin: the (method, verifier, n) with the highest mean accuracy on the bin's prompts within ``budget``,
    and the best point of a different kind after it."""
    cells = []
    for idx in bins:
        if not len(idx):
            cells.append("no prompts")
            continue
        scored: dict[str, tuple[float, float]] = {}  # label -> (accuracy, tokens)
        for (series, verifier), points in c.items():
            if verifier not in verifiers:
                continue
            for p in points:
                if p["tokens"] <= budget + 1e-9:
                    label = _point_label(series, verifier, p["n"], len(verifiers) > 1)
                    if series == "particle_filter" and p["n"] == 1:
                        label = "one sample (stepwise)"
                    value = (round(float(p["per_prompt"][idx].mean()), 6), -p["tokens"])
                    if label not in scored or value > (scored[label][0], -scored[label][1]):
                        scored[label] = (value[0], p["tokens"])
        if not scored:
            cells.append("—")
            continue
        # The most accurate; among equals, the cheapest.
        ranked = sorted(scored.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0]))
        (top, (acc, _)), runner = ranked[0], ranked[1] if len(ranked) > 1 else None
        tie = runner is not None and round(runner[1][0], 2) == round(acc, 2)
        cells.append(f"{top} {acc:.2f}" + (f"; next {runner[1][0]:.2f}" + (" (tie)" if tie else "") if runner else ""))
    return cells


def greedy_per_bin(c: dict, bins: list[np.ndarray]) -> list[str]:
    points = next((ps for (series, _), ps in sorted(c.items()) if series == "beam"), [])
    greedy = next((p for p in points if p["n"] == 1), None)
    return [
        f"{float(greedy['per_prompt'][idx].mean()):.2f}" if greedy is not None and len(idx) else "—" for idx in bins
    ]


def section_compute(data: dict, fig_dir: str, doc_dir: Path) -> list[str]:
    lines = [
        "## 1. Accuracy against compute", "",
        f"Every verifier-ranked method with every verifier, on the first {V.N_PROMPTS} evaluation prompts of each "
        f"model, {len(V.SEEDS)} seeds (seeds {', '.join(map(str, V.SEEDS))}: the samples, the particles' draws and the "
        "noisy verifier's flips). Compute is generated tokens per prompt: best-of-N and weighted majority "
        "sample N complete chains (2 tokens each); particle filtering extends N particles one step at a time "
        "(2N tokens); beam search of width W asks one next token per beam per step (1 + W tokens: one beam at the "
        "first step) and reads the top W continuations of each; width 1 is greedy decoding, whatever the verifier. Beam search with the exact, log-probability and "
        "learned verifiers is deterministic and was run once; everything else is mean ± sd over the seeds. "
        f"Best-of-N and weighted majority use N in {list(V.NS)}, particle filtering {list(V.PARTICLES)} particles "
        f"(resampling temperature 1), beam search widths {list(V.WIDTHS)}.", "",
    ]  # fmt: skip
    for m in data["models"]:
        model = m["name"]
        c = curves(data["scaling"][model])
        if not c:
            continue
        ceiling = data["ceiling"].get(model)
        pass1 = float(np.mean(ceiling["pass_rate"])) if ceiling else float("nan")
        fig = compute_figure(model, c, pass1, doc_dir / fig_dir / f"{model}-compute.png")
        lines += [f"### {model}", "", f"![{model}: accuracy against compute]({fig_dir}/{fig.name})", ""]
        header = ["verifier"]
        for method in V.METHODS:
            pts = [p for (s, v), ps in c.items() if s == method for p in ps]
            if pts:
                top = max(pts, key=lambda p: p["n"])
                header.append(f"{method} (n={top['n']}, {top['tokens']:.0f} tokens)")
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for verifier in V.verifier_names():
            row = [verifier]
            for method in V.METHODS:
                pts = c.get((method, verifier))
                row.append(ms(max(pts, key=lambda p: p["n"])["acc"]) if pts else "—")
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", f"pass@1 (one sample at temperature 1, over all seeds' samples): {pass1:.3f}.", ""]
        lines += _compute_findings(model, c)
    return lines


def _compute_findings(model: str, c: dict) -> list[str]:
    out = []
    for method in ("best_of_n", "beam"):
        exact, prm = c.get((method, "exact")), c.get((method, "prm"))
        if not exact or not prm:
            continue
        e, p = max(exact, key=lambda x: x["n"]), max(prm, key=lambda x: x["n"])
        out.append(
            f"- {model}, {method} at n={e['n']}: the learned PRM reaches {ms(p['acc'])} against {ms(e['acc'])} with the "
            f"exact verifier (a gap of {np.mean(e['acc']) - np.mean(p['acc']):.3f}); the PRM is "
            f"{relation(p['acc'], e['acc'])} the exact verifier."
        )
    for verifier in ("prm", "orm"):
        moves = []
        for method in V.METHODS:
            pts = c.get((method, verifier))
            if pts and len(pts) > 1:
                lo, hi = min(pts, key=lambda x: x["n"]), max(pts, key=lambda x: x["n"])
                word = {"above": "rises", "below": "falls"}.get(
                    relation(hi["acc"], lo["acc"]), "stays within the seeds' spread"
                )
                moves.append(f"{method} {word} from {ms(lo['acc'])} (n={lo['n']}) to {ms(hi['acc'])} (n={hi['n']})")
        if moves:
            out.append(f"- {model}, learned {verifier.upper()}: more compute " + "; ".join(moves) + ".")
    for verifier in ("prm", "orm", "logprob"):
        bon, wm = c.get(("best_of_n", verifier)), c.get(("weighted_majority", verifier))
        if bon and wm:
            b, w = max(bon, key=lambda x: x["n"]), max(wm, key=lambda x: x["n"])
            out.append(f"- {model}, {verifier}: weighted majority {ms(w['acc'])} is {relation(w['acc'], b['acc'])} "
                       f"best-of-N {ms(b['acc'])} at n={b['n']}.")  # fmt: skip
    return out + [""]


def _counts(rows: list[dict]) -> str:
    counts = sorted({r["n_labels"] for r in rows})
    return ", ".join(map(str, counts[:-1])) + f" and {counts[-1]}" if len(counts) > 1 else str(counts[0])


def section_gap(data: dict, fig_dir: str, doc_dir: Path) -> list[str]:
    gap = data["gap"]
    if not gap or not gap["rows"]:
        return []
    model = gap["model"]
    c = curves(data["scaling"].get(model, []))
    exact = {
        "best_of_n": next((p["acc"] for p in c.get(("best_of_n", "exact"), []) if p["n"] == V.GAP_N), [float("nan")]),
        "beam": next((p["acc"] for p in c.get(("beam", "exact"), []) if p["n"] == V.GAP_WIDTH), [float("nan")]),
    }
    rows = sorted(gap["rows"], key=lambda r: (r["kind"], r["n_labels"]))
    ceiling = data["ceiling"].get(model)
    pass1 = float(np.mean(ceiling["pass_rate"])) if ceiling else None
    fig = gap_figure(rows, exact, doc_dir / fig_dir / "label-counts.png", pass1)
    lines = [
        "## 2. The learned-verifier gap", "",
        f"PRMs and ORMs for the {model} model trained on the first {_counts(rows)} labelled samples "
        f"({V.SAMPLES_PER_PROMPT} policy samples per training prompt, every step labelled by the exact verifier), "
        f"each for max({V.MIN_STEPS}, one epoch) AdamW steps of {V.TRAIN_BATCH} samples at learning rate "
        f"{V.TRAIN_LR:g}, from scratch, training seed 0. AUROC (pooled over prompts, and the mean over "
        "prompts of the AUROC among one prompt's candidates, the ranking selection uses) and FP/FN rates (at 0.5) are "
        "measured on "
        f"{rows[0]['test_samples']} samples of {rows[0]['test_prompts']} held-out prompts; best-of-{V.GAP_N} "
        f"(mean ± sd over {len(V.SEEDS)} sampling seeds) and beam search of width {V.GAP_WIDTH} (deterministic) on "
        f"the {V.N_PROMPTS} searched prompts. The exact verifier gives best-of-{V.GAP_N} {ms(exact['best_of_n'])} and "
        f"beam {ms(exact['beam'])}. Training took {min(r['train_seconds'] for r in rows):.0f} to "
        f"{max(r['train_seconds'] for r in rows):.0f} s per verifier on 2 CPU cores. Each point is one training seed; "
        f"the spread over training seeds is measured at {V.MAIN_LABELS} labels (below).", "",
        f"![learned verifiers against label count]({fig_dir}/{fig.name})", "",
        "| kind | labels | steps | train s | step AUROC | step AUROC within prompts | outcome AUROC | step FP / FN | "
        f"best-of-{V.GAP_N} | gap to exact | beam W={V.GAP_WIDTH} | gap to exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['kind']} | {r['n_labels']} | {r['steps']} | {r['train_seconds']:.0f} | {_fmt(r['step']['auroc'])} | "
            f"{_fmt(r['step'].get('within_prompt_auroc'))} | "
            f"{_fmt(r['outcome']['auroc'])} | {_fmt(r['step']['false_positive_rate'], 2)} / "
            f"{_fmt(r['step']['false_negative_rate'], 2)} | {ms(r['best_of_n'])} | "
            f"{np.mean(exact['best_of_n']) - np.mean(r['best_of_n']):.3f} | {ms(r['beam'])} | "
            f"{np.mean(exact['beam']) - np.mean(r['beam']):.3f} |"
        )
    top = max(r["n_labels"] for r in rows)
    lines.append("")
    for kind in ("prm", "orm"):
        r = next((x for x in rows if x["kind"] == kind and x["n_labels"] == top), None)
        if r:
            lines.append(
                f"- {kind} at {top} labels: best-of-{V.GAP_N} {ms(r['best_of_n'])}, {relation(r['best_of_n'], exact['best_of_n'])} "
                f"the exact verifier's {ms(exact['best_of_n'])} (gap {np.mean(exact['best_of_n']) - np.mean(r['best_of_n']):.3f}); "
                f"beam {ms(r['beam'])} against {ms(exact['beam'])} (gap {np.mean(exact['beam']) - np.mean(r['beam']):.3f}); "
                f"step AUROC {_fmt(r['step']['auroc'])}, within prompts {_fmt(r['step'].get('within_prompt_auroc'))}."
                + (f" A single sample's accuracy (pass@1) is {pass1:.3f}: choosing by the {kind.upper()} is "
                   f"{relation(r['best_of_n'], [pass1])} it." if pass1 is not None else "")
            )  # fmt: skip
    for kind in ("prm", "orm"):
        mine = [r for r in rows if r["kind"] == kind]
        if len(mine) > 1:
            aurocs = [r["step"]["auroc"] for r in mine] + [
                r["step"]["within_prompt_auroc"] for r in mine if r["step"].get("within_prompt_auroc") is not None
            ]
            lines.append(
                f"- {kind} across {len(mine)} label counts: every step AUROC (pooled or within prompts) lies in "
                f"[{min(aurocs):.3f}, {max(aurocs):.3f}], and best-of-{V.GAP_N} in "
                f"[{min(np.mean(r['best_of_n']) for r in mine):.3f}, {max(np.mean(r['best_of_n']) for r in mine):.3f}]."
            )
    return lines + [""] + _train_seed_lines(data, rows)


def _train_seed_lines(data: dict, gap_rows: list[dict]) -> list[str]:
    extra = data.get("train_seeds")
    if not extra or not extra["rows"]:
        return []
    n = extra["n_labels"]
    rows = [r for r in gap_rows if r["n_labels"] == n] + extra["rows"]
    lines = [
        f"Training seeds at {n} labels (the same data, a different initialisation and batch order):", "",
        f"| kind | training seed | step AUROC | within prompts | best-of-{V.GAP_N} | beam W={V.GAP_WIDTH} |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in sorted(rows, key=lambda r: (r["kind"], r["seed"])):
        lines.append(
            f"| {r['kind']} | {r['seed']} | {_fmt(r['step']['auroc'])} | {_fmt(r['step'].get('within_prompt_auroc'))} | "
            f"{ms(r['best_of_n'])} | {ms(r['beam'])} |"
        )
    lines.append("")
    for kind in ("prm", "orm"):
        mine = [r for r in rows if r["kind"] == kind]
        if len(mine) > 1:
            lines.append(
                f"- {kind}, over {len(mine)} training seeds: step AUROC {ms([r['step']['auroc'] for r in mine])}, "
                f"best-of-{V.GAP_N} {ms([np.mean(r['best_of_n']) for r in mine])} (each seed's mean over sampling "
                f"seeds), beam {ms([np.mean(r['beam']) for r in mine])}."
            )
    return lines + [""]


def section_ceiling(data: dict, fig_dir: str, doc_dir: Path) -> list[str]:
    ceilings = {m["name"]: data["ceiling"].get(m["name"]) for m in data["models"]}
    if not any(ceilings.values()):
        return []
    fig = ceiling_figure(ceilings, doc_dir / fig_dir / "ceiling.png")
    top = max(V.NS)
    lines = [
        "## 3. The resampling ceiling", "",
        "Best-of-N with an outcome verifier that errs. Assumptions of the prediction: each of the N samples of a "
        "prompt is right with probability p (the prompt's pass@1); a right sample is accepted with probability "
        "1 − fn and a wrong one with probability f (the false-positive rate), each sample's verdict drawn "
        "independently; the answer is a uniform pick among the accepted samples (among all N when none is "
        "accepted). As N grows the accepted samples are right in the proportion p(1 − fn) : (1 − p)f, so",
        "", "    accuracy(N → ∞) = p(1 − fn) / (p(1 − fn) + (1 − p) f)", "",
        "whatever the compute. Pass rates differ between prompts, so the predicted plateau is the mean over "
        f"prompts of each prompt's plateau, with p the prompt's pass rate over all {len(V.SEEDS)} seeds' samples "
        f"({len(V.SEEDS)} x {top} per prompt); for finite N the prediction is the exact expectation over the "
        "binomial counts of right samples and of accepted right and wrong ones. The measured curves use the same "
        f"samples as section 1 ({top} per prompt and seed, disjoint groups of N): *independent errors* draw each "
        "sample's verdict on its own (the prediction's assumption); *consistent errors* use the project's "
        "`noisy:fp=F,fn=G` outcome verdicts, which are a function of the prompt and the sampled chain, so every "
        "copy of the same output gets the same verdict, as with any deterministic verifier.", "",
        f"![the resampling ceiling]({fig_dir}/{fig.name})", "",
        f"| model | fp | fn | measured N={top}, independent | predicted N={top} | measured − predicted | "
        f"predicted plateau (per prompt) | plateau of the mean p | measured N={top}, consistent |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for model, c in ceilings.items():
        if not c:
            continue
        for fp, fn in V.NOISY:

            def pick(errors, c=c, fp=fp, fn=fn):
                return [x["accuracy"] for x in c["curves"] if (x["fp"], x["fn"], x["errors"], x["n"]) == (fp, fn, errors, top)]  # fmt: skip

            pred = next(x["accuracy"] for x in c["predicted"] if (x["fp"], x["fn"], x["n"]) == (fp, fn, top))
            plat = next(x for x in c["plateaus"] if (x["fp"], x["fn"]) == (fp, fn))
            lines.append(
                f"| {model} | {fp:g} | {fn:g} | {ms(pick('independent'))} | {pred:.3f} | "
                f"{np.mean(pick('independent')) - pred:+.3f} | {plat['per_prompt']:.3f} | "
                f"{plat['from_mean_p']:.3f} | {ms(pick('consistent'))} |"
            )
    gaps = [
        x["from_mean_p"] - x["per_prompt"] for c in ceilings.values() if c for x in c["plateaus"]
    ]  # fmt: skip
    lines += [
        "", "Where the measurement sits above the finite-N prediction, part of the difference is how it is "
        "made: the prediction draws a prompt's number of right samples from a binomial with the prompt's pass "
        f"rate, while each measured group of N={top} is 1/{len(V.SEEDS)} of the very samples that pass rate was estimated "
        "from, so its count varies less than a binomial's.",
    ]  # fmt: skip
    step_level = []
    for model in ceilings:
        c = curves(data["scaling"].get(model, []))
        for fp, fn in V.NOISY:
            pts = c.get(("best_of_n", V.noisy_name(fp, fn)))
            if pts:
                step_level.append(f"{model}, fp={fp:g}: {ms(max(pts, key=lambda x: x['n'])['acc'])}")
    if step_level:
        lines += [
            "", f"For comparison, section 1's `best_of_n` with the step-level `noisy` verifier at N={top} (a sample "
            "must pass every step under `min`, so a wrong answer passes less often than fp; ties go to the more "
            "probable sample): " + "; ".join(step_level) + ".",
        ]  # fmt: skip
    lines += [
        "", f"The formula applied to the mean pass@1 instead over-predicts the plateau by {min(gaps):.3f} to "
        f"{max(gaps):.3f}: the plateau is concave in p (for 1 − fn > f), so the mean of the prompts' plateaus lies "
        "below the plateau of their mean pass rate (Jensen), and prompts the policy rarely solves keep plateaus "
        "near 0 at any N.",
    ]  # fmt: skip
    lines.append("")
    return lines


def section_difficulty(data: dict) -> list[str]:
    lines = [
        "## 4. Compute-optimal by difficulty", "",
        "Prompts binned by the policy's own pass@1 (its pass rate over the samples of section 3). At each budget "
        "(generated tokens per prompt) the cell names the method, verifier and n with the highest accuracy on the "
        "bin's prompts among all points within the budget (accuracy per prompt averaged over the seeds; among equals "
        "the cheapest), and the "
        "best point of another kind after it (at n = 1 no verifier chooses: beam search of width 1 is greedy "
        "decoding, one sample or particle is plain sampling). The first row is greedy decoding. The first table allows the verifiers one could run without the truth (learned PRM, "
        "learned ORM, the policy's log-probability); the second the exact verifier. The bins are made from the "
        "same samples best-of-N selects among, so the lowest bin holds prompts where few samples were right.", "",
    ]  # fmt: skip
    for m in data["models"]:
        model, ceiling = m["name"], data["ceiling"].get(m["name"])
        c = curves(data["scaling"][model])
        if not ceiling or not c:
            continue
        bins = difficulty_bins(ceiling["pass_rate"])
        header = [f"pass@1 {lo:g}-{hi:g} ({len(idx)} prompts)" for (lo, hi), idx in zip(BINS, bins)]
        for title, verifiers in (("learned PRM, ORM or log-probability", REALISTIC), ("exact verifier", ("exact",))):
            lines += [f"**{model}, {title}**", "", "| tokens | " + " | ".join(header) + " |",
                      "|---|" + "---|" * len(header)]  # fmt: skip
            lines.append("| greedy (2) | " + " | ".join(greedy_per_bin(c, bins)) + " |")
            for budget in BUDGETS:
                lines.append(f"| ≤ {budget} | " + " | ".join(best_per_bin(c, verifiers, bins, budget)) + " |")
            gains = _gains_over_greedy(c, verifiers, bins, max(BUDGETS))
            lines += ["", f"At ≤ {max(BUDGETS)} tokens the best point gains over greedy decoding, by bin: "
                      + ", ".join(f"{g:+.2f}" for g in gains) + ".", ""]  # fmt: skip
    return lines


def _gains_over_greedy(c: dict, verifiers, bins, budget: float) -> list[float]:
    greedy = next(p for (series, _), ps in sorted(c.items()) if series == "beam" for p in ps if p["n"] == 1)
    out = []
    for idx in bins:
        best = max(
            float(p["per_prompt"][idx].mean())
            for (series, verifier), ps in c.items() if verifier in verifiers
            for p in ps if p["tokens"] <= budget + 1e-9
        )  # fmt: skip
        out.append(best - float(greedy["per_prompt"][idx].mean()) if len(idx) else float("nan"))
    return out


def section_equal_tokens(data: dict, fig_dir: str, doc_dir: Path) -> list[str]:
    fig = equal_tokens_figure(data, doc_dir / fig_dir / "equal-tokens.png")
    lines = [
        "## 5. Particle filtering, beam search and best-of-N at equal tokens", "",
        "N samples (best-of-N) and N particles (particle filtering) both generate 2N tokens per prompt; beam "
        "search of width 2N generates 2N + 1 (one token more per prompt, the nearest width this study ran). "
        "Particle filtering resamples after the first step in proportion to softmax(score / T) with T = 1 (the "
        "default) and, for the exact, noisy and log-probability verifiers, T = 0.1; the answer is the best-scored "
        "particle. Mean ± sd over seeds; beam search with a deterministic verifier ran once. Generated tokens are "
        "equal, verifier work is not: beam search scores every one of its W x W candidates' continuations (the last "
        "column), and with one token per step it enumerates the policy's top W tokens instead of sampling them.", "",
        f"![equal tokens]({fig_dir}/{fig.name})", "",
        "| model | verifier | N | tokens | best-of-N | particle filter T=1 | particle filter T=0.1 | beam W=2N | "
        "verifier-scored tokens: best-of-N / particle filter / beam |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    findings = []
    for m in data["models"]:
        model = m["name"]
        c = curves(data["scaling"][model])
        for verifier in V.verifier_names():
            for n in (1, 2, 4):

                def acc(series, k, verifier=verifier, c=c, key="acc"):
                    return next((p[key] for p in c.get((series, verifier), []) if p["n"] == k), None)

                cells = [acc("best_of_n", n), acc("particle_filter", n), acc("particle_filter (T=0.1)", n),
                         acc("beam", 2 * n)]  # fmt: skip
                if all(x is None for x in cells):
                    continue
                scored = [acc(series, k, key="scored") for series, k in (("best_of_n", n), ("particle_filter", n), ("beam", 2 * n))]  # fmt: skip
                lines.append(
                    f"| {model} | {verifier} | {n} | {2 * n} | " + " | ".join(ms(x) if x else "—" for x in cells)
                    + " | " + " / ".join("—" if x is None else f"{x:.0f}" for x in scored) + " |"
                )  # fmt: skip
            pf, beam, bon = acc("particle_filter", 4), acc("beam", 8), acc("best_of_n", 4)
            if pf and beam and bon and verifier in ("exact", "prm"):
                findings.append(
                    f"- {model}, {verifier} verifier, 8 tokens: particle filtering (4 particles) {ms(pf)} is "
                    f"{relation(pf, beam)} beam search (W=8, 9 tokens) {ms(beam)}, and {relation(pf, bon)} best-of-4 {ms(bon)}."
                )
    return lines + [""] + findings + [""]


def headline(data: dict) -> list[str]:
    out = []
    gap = data["gap"]
    if gap and gap["rows"]:
        model = gap["model"]
        c = curves(data["scaling"].get(model, []))
        exact = next((p["acc"] for p in c.get(("best_of_n", "exact"), []) if p["n"] == V.GAP_N), None)
        top = max(r["n_labels"] for r in gap["rows"])
        prm = next((r for r in gap["rows"] if r["kind"] == "prm" and r["n_labels"] == top), None)
        if exact and prm:
            out.append(
                f"- **Learned-PRM gap** ({model} model, {top} labels): best-of-{V.GAP_N} with the PRM {ms(prm['best_of_n'])} "
                f"against {ms(exact)} with the exact verifier, a gap of {np.mean(exact) - np.mean(prm['best_of_n']):.3f} "
                f"(step AUROC {_fmt(prm['step']['auroc'])}"
                + (f"; one sample at temperature 1 is right {np.mean(data['ceiling'][model]['pass_rate']):.3f} of the "
                   "time" if data["ceiling"].get(model) else "") + ")."
            )  # fmt: skip
    for model, c in data["ceiling"].items():
        if not c:
            continue
        top = max(V.NS)
        parts = []
        for fp, fn in V.NOISY:
            measured = [x["accuracy"] for x in c["curves"] if (x["fp"], x["fn"], x["errors"], x["n"]) == (fp, fn, "independent", top)]  # fmt: skip
            consistent = [x["accuracy"] for x in c["curves"] if (x["fp"], x["fn"], x["errors"], x["n"]) == (fp, fn, "consistent", top)]  # fmt: skip
            plat = next(x for x in c["plateaus"] if (x["fp"], x["fn"]) == (fp, fn))
            pred = next(x["accuracy"] for x in c["predicted"] if (x["fp"], x["fn"], x["n"]) == (fp, fn, top))
            parts.append(
                f"fp={fp:g}: measured {ms(measured)} at N={top} against {pred:.3f} predicted at N={top} and a "
                f"plateau of {plat['per_prompt']:.3f} (consistent errors: {ms(consistent)})"
            )
        out.append(f"- **Resampling ceiling** ({model}, fn={V.NOISY[0][1]:g}): " + "; ".join(parts) + ".")
    for m in data["models"]:
        c = curves(data["scaling"][m["name"]])
        for verifier in ("exact", "prm"):
            pf = next((p["acc"] for p in c.get(("particle_filter", verifier), []) if p["n"] == 4), None)
            beam = next((p["acc"] for p in c.get(("beam", verifier), []) if p["n"] == 8), None)
            if pf and beam:
                out.append(
                    f"- **Particle filtering vs beam** ({m['name']}, {verifier} verifier, 8 vs 9 tokens per prompt): "
                    f"{ms(pf)} against {ms(beam)}: {relation(pf, beam)} beam search."
                )
    return ["## Headline figures", "", *out, ""] if out else []


def section_setup(data: dict) -> list[str]:
    lines = [
        "## Models, verifiers and how the study runs", "",
        "| model | what it is | its DAG | answer reads the chain |", "|---|---|---|---|",
    ]  # fmt: skip
    for m in data["models"]:
        lines.append(f"| {m['name']} | {m['about']} | {m['dag']} | {m['answer_reads_chain']:.0%} of prompts |")
    lines += [
        "", "Verifiers (`--verifier` of `cot-icl scale`; scores per step, aggregated by `min`):",
        "- `exact`: the exact process verifier (1 for a step computed right on the candidate's own parents);",
        "- `prm`, `orm`: learned reward models (below), read at every step's token or at the last token;",
        f"- `{V.noisy_name(*V.NOISY[0])}`, `{V.noisy_name(*V.NOISY[1])}`: the exact labels through a seeded "
        "confusion matrix (a wrong step passes with probability fp, a right one fails with probability fn);",
        "- `logprob`: the policy's own probability of each token.", "",
        f"Prompts of each model's evaluation split: indices 0-{V.N_PROMPTS - 1} are searched, "
        f"{V.TEST_FIRST}-{V.TEST_FIRST + V.N_TEST - 1} are the held-out prompts the learned verifiers are measured "
        f"on, and {V.TRAIN_FIRST} on (the run's evaluation split extended from its Args) are the verifiers' "
        f"training prompts, {V.SAMPLES_PER_PROMPT} policy samples each at temperature 1. The learned verifiers of "
        f"sections 1, 4 and 5 were trained on {V.MAIN_LABELS} labelled samples:", "",
        "| verifier | labels | steps | train s | step AUROC | step AUROC within prompts | outcome AUROC | step ECE | "
        "step FP / FN at 0.5 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, q in sorted(data["quality"].items()):
        lines.append(
            f"| {name} | {q['n_labels']} | {q['steps']} | {q['train_seconds']:.0f} | {_fmt(q['step']['auroc'])} | "
            f"{_fmt(q['step'].get('within_prompt_auroc'))} | "
            f"{_fmt(q['outcome']['auroc'])} | {_fmt(q['step']['ece'])} | {_fmt(q['step']['false_positive_rate'], 2)} / "
            f"{_fmt(q['step']['false_negative_rate'], 2)} |"
        )
    seconds = sum(data["scaling_seconds"].values())
    lines += [
        "", "The study is one script; `--no-run` rebuilds this page and its figures from `docs/verifiers/*.json` "
        "alone (byte-identical):", "", "```bash",
        "python scripts/verifier_study.py            # everything (labelled data, verifiers, searches), then the page",
        "python scripts/verifier_study.py --no-run   # the page and figures from docs/verifiers/*.json",
        "```", "",
        "It calls the library behind these commands (the labelled data start at prompt 256, which the commands' "
        "`--n-prompts` does not offer; training uses `max_train_samples`, the first N training samples):", "",
        "```bash",
        "cot-icl verifier train RUN --kind prm --data DIR --out VDIR --steps S --batch-size 32 --lr 1e-3 --seed 0",
        "cot-icl verifier eval VDIR RUN",
        f"cot-icl scale RUN --verifier V --methods best_of_n,weighted_majority --n {','.join(map(str, V.NS))} "
        f"--max-prompts {V.N_PROMPTS} --temperature 1 --seed S",
        f"cot-icl scale RUN --verifier V --methods beam --n {','.join(map(str, V.WIDTHS))} --max-prompts {V.N_PROMPTS}",
        f"cot-icl scale RUN --verifier V --methods particle_filter --n {','.join(map(str, V.PARTICLES))} "
        f"--max-prompts {V.N_PROMPTS} --seed S [--resample-temperature 0.1]",
        "```", "",
        f"Searches took {seconds / 60:.1f} minutes in all (transformers backend, measured on 2 CPU cores); the best-of-N samples of a seed are drawn once and ranked by every verifier.", "",
    ]  # fmt: skip
    return lines


def build_document(data: dict, fig_dir: str, doc_dir: Path) -> str:
    lines = [
        "# Verifiers under test-time search: learned, noisy, exact", "",
        "What verifier error costs best-of-N, weighted majority, beam search and particle filtering, measured "
        "where every step has ground truth: learned process and outcome reward models (PRM, ORM) trained on the "
        "exact verifier's labels, a noisy verifier whose false-positive rate is a dial, the policy's "
        "log-probability, and the exact verifier as the ceiling. Regenerated by `scripts/verifier_study.py` "
        "(logic in `studies/verifiers.py`, page in `studies/verifiers_document.py`); every number below is read "
        "from `docs/verifiers/*.json`. The verifier interface and the search methods are described in "
        "[SCALING.md](SCALING.md).", "",
    ]  # fmt: skip
    lines += headline(data)
    lines += section_setup(data)
    lines += section_compute(data, fig_dir, doc_dir)
    lines += section_gap(data, fig_dir, doc_dir)
    lines += section_ceiling(data, fig_dir, doc_dir)
    lines += section_difficulty(data)
    lines += section_equal_tokens(data, fig_dir, doc_dir)
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def write_page(doc: Path, data_dir: Path) -> Path:
    """The page and its figures from ``data_dir``."""
    data = load(data_dir)
    doc.write_text(build_document(data, data_dir.relative_to(doc.parent).as_posix(), doc.parent))
    return doc
