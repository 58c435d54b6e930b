"""Markdown of the two studies, the claim verdicts and the paper-scale section (rendering only)."""

from __future__ import annotations

import os
from pathlib import Path

from studies.claims import Claim, recipe_effect, transition_headline, with_share
from studies.effects import (
    ALPHA,
    CellEffects,
    Contrast,
    cell_effects,
    diversity_contrasts,
    dz_text,
    interval,
    locality_contrasts,
    number,
    p_text,
    transition_verdict,
    verdict,
)
from studies.markdown import display_path, what_is_drawn
from studies.study1 import SKILL_THRESHOLD, CellResult, h_diversity
from studies.study2 import FRACTIONS, MODE_NAMES, MODES, RecipeResult
from tokenized_cot_icl.experiments.statistics import EXACT_LIMIT, N_RESAMPLES
from tokenized_cot_icl.foundation.config import Args


def _steps(values) -> str:
    return ", ".join("never" if v is None else f"{v:.0f}" for v in values)


def image(path: Path, doc: Path, alt: str) -> str:
    return f"![{alt}]({os.path.relpath(path, doc.parent)})"


def claims_table(claims: list[Claim]) -> list[str]:
    lines = ["| claim (source) | measured here | verdict | scope |", "|---|---|---|---|"]
    for c in claims:
        lines.append(f"| {c.claim} [{c.source}] | {c.measured} | **{c.verdict}** | {c.distance} |")
    return lines


def model_line(a: Args) -> str:
    return (
        f"{a.model_type}, hidden {a.hidden_size}, {a.num_attention_heads} heads ({a.num_key_value_heads} KV), "
        f"MLP {a.intermediate_size}; {a.n_tasks // a.batch_size} steps of batch {a.batch_size}, AdamW lr {a.lr} "
        f"({a.lr_schedule}, warmup {a.warmup_steps}, clip {a.max_grad_norm})"
    )


def design_lines(
    card: Path, a: Args, seeds: str, minutes: float, n_runs: int, n_planned: int, varies: str
) -> list[str]:
    return [
        "| | |",
        "|---|---|",
        f"| card | `{display_path(card)}` (every entry trained by `python -m tokenized_cot_icl.core.train`) |",
        f"| task family | V={a.vocab_size}, d={a.n_dims}, N={a.n_inputs}, M={a.n_parents}, activation "
        f"`{a.activation}`, DAG `{a.dag_strategy}`, C={a.chain_length}, K={a.n_examples}; {what_is_drawn(a)} ({varies}) |",
        f"| model and training | {model_line(a)} |",
        f"| evaluation | every {a.eval_every_n_steps} steps, greedy answers of {a.n_eval_generate} held-out prompts |",
        f"| seeds | {seeds} |",
        f"| compute | {n_runs} of {n_planned} planned runs finished, {minutes:.1f} min of training wall time "
        "(one thread per run, at most two runs at a time, on 2 CPU cores shared with other work) |",
    ]


def pilot_row(cells: list[CellResult]) -> str:
    """The step budget and the pilot that set it: the first trained pair of the first cell in training order."""
    pair = next((c.pairs[0] for c in cells if c.pairs), None)
    budget = int(cells[0].args.n_tasks // cells[0].args.batch_size)
    if pair is None:
        return f"| step budget | {budget} steps (no pair trained yet) |"

    def reached(run) -> str:
        return f"at step {run.crossing}" if run.crossing is not None else f"not by step {int(run.steps[-1])}"

    std, cot = pair
    return (
        f"| step budget | {budget} steps, kept after the pilot (the first cell's seed-{std.seed} pair, "
        f"`{std.name}` / `{cot.name}`): skill 0.5 reached by cot {reached(cot)}, by standard {reached(std)} |"
    )


def cell_rows(cells: list[CellResult]) -> list[str]:
    """The per-cell tables of a Study 1-like card: paired transition steps with verdicts, then the rest."""
    effects = [cell_effects(c) for c in cells]
    return [*transition_rows(effects), "", *secondary_rows(effects)]


def transition_rows(effects: list[CellEffects]) -> list[str]:
    """Per cell: pairs, reached counts, mean transition steps, the paired difference with its CI, d_z, p, verdict."""
    lines = [
        "| cell | H | DAG | C | pairs | reached skill 0.5 (std / cot) | mean transition step (std / cot) "
        "| cot − std [95% CI] | d_z [95% CI] | p | verdict |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in effects:
        a = e.cell.args
        head = f"| `{e.cell.cell}` | {h_diversity(a)} | {a.dag_strategy} | {a.chain_length} | {e.n_pairs}"
        if e.transition is None:
            lines.append(head + " | - | - | - | - | - | not run |")
            continue
        partial = "" if e.cell.complete else f" (of {e.cell.n_planned // 2} planned)"
        lines.append(
            f"{head}{partial} | {e.reached_standard} / {e.reached_cot} of {e.n_pairs} | "
            f"{number(e.mean_standard)} / {number(e.mean_cot)} | {interval(e.transition)} | {dz_text(e.transition)} "
            f"| {p_text(e.transition.p)} | {transition_verdict(e)} |"
        )
    return lines


def secondary_rows(effects: list[CellEffects]) -> list[str]:
    """Per cell: the logistic midpoint and the final skill, paired cot − std, and cot's per-step accuracy."""
    lines = [
        "| cell | skill ≥ 0.5 at, per seed (std / cot) | logistic midpoint cot − std [95% CI] (pairs with both "
        "fits) | p | final skill (std / cot) | final skill cot − std [95% CI] | p | mean skill over training "
        "cot − std [95% CI] | p | cot final accuracy of y1..yC |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in effects:
        if e.final is None:
            continue
        mid = "no pair with both midpoints" if e.midpoint is None else f"{interval(e.midpoint)} ({e.midpoint.n})"
        p_mid = "-" if e.midpoint is None else p_text(e.midpoint.p)
        std = sum(r.final_skill for r, _ in e.cell.pairs) / e.n_pairs
        cot = sum(r.final_skill for _, r in e.cell.pairs) / e.n_pairs
        steps = ", ".join(f"{v:.2f}" for v in e.cot_per_step) or "-"
        per_seed = " / ".join(_steps(r.crossing for r in side) for side in zip(*e.cell.pairs))
        lines.append(
            f"| `{e.cell.cell}` | {per_seed} | {mid} | {p_mid} | {std:.2f} / {cot:.2f} | {interval(e.final, 2)} "
            f"| {p_text(e.final.p)} | {interval(e.area, 2)} | {p_text(e.area.p)} | {steps} |"
        )
    return lines


def contrast_rows(contrasts: list[Contrast], first: str, second: str, what: str, claimed: int) -> list[str]:
    """One row per matched pair of cells: each cell's mean ``what``, their difference [95% CI], p, verdict."""
    lines = [
        f"| matched cells | {first}: mean {what} | {second}: mean {what} | {first} − {second} [95% CI] | p | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for c in contrasts:
        lines.append(
            f"| {c.label} (`{c.first.cell.cell}`, `{c.second.cell.cell}`) | {number(c.a.mean())} ({len(c.a)}) "
            f"| {number(c.b.mean())} ({len(c.b)}) | {interval(c.effect)} | {p_text(c.effect.p)} "
            f"| {verdict(c.effect, claimed)} |"
        )
    return lines


def method_text() -> str:
    """How Study 1's numbers and verdicts are computed (the constants are the code's)."""
    return (
        "Accuracy is reported as **skill above the majority answer**, `(acc - maj) / (1 - maj)` with `maj` the "
        "accuracy of always giving the eval set's most frequent answer (the generator's answers concentrate on a "
        "few tokens, so raw accuracy reaches `maj` within a few dozen steps for either strategy). A run's "
        f"**transition step** is its first evaluated step with skill ≥ {SKILL_THRESHOLD}; a run that never gets "
        "there is counted at its budget (its last evaluated step) in every mean and test, which understates how "
        "slow it was (the test is conservative for the strategy that did cross), and the number of runs that "
        "reached is given beside each mean. The logistic midpoint is the midpoint of a fit of skill against "
        "log10(step) (only when the fit rises by ≥ 0.2 with its midpoint inside the trained steps). Standard "
        "and cot runs with the same seed share the task and the initial weights and are compared in pairs: the "
        "mean paired difference cot − std with a percentile-bootstrap 95% interval "
        f"({N_RESAMPLES} resamples of the pairs, seed 0), Cohen's d_z (mean difference / sd of the "
        "differences) with its bootstrap interval, and the exact two-sided sign-flip p (sign patterns sampled, "
        f"seed 0, beyond {EXACT_LIMIT.bit_length() - 1} pairs). With n pairs the smallest attainable p is "
        "2 / 2^n: 0.0625 for 5 pairs, 0.031 for 6; a tied pair (both runs never reaching skill 0.5) carries no "
        "sign, so 6 pairs with one tie can reach no lower than 0.0625. Contrasts between matched cells (every setting equal but "
        "the one compared) take the difference of the cells' means over independent seeds, with a bootstrap "
        "interval (each cell resampled) and an exact relabelling p within each matched pair of cells; pooled "
        "contrasts average the matched pairs, relabelling within each. **Verdicts** are computed, never chosen: "
        f"*supported* when p < {ALPHA} and the 95% interval excludes 0 on the claimed side, *contradicted* "
        "when both hold on the other side, *inconclusive* otherwise (with the p, whether the interval spans 0, "
        "and the smallest p the design can reach when that is not below the level)."
    )


AXES = {
    "ablation_fixed_H": "H",
    "num_unique_H": "H",
    "dag_strategy": "the DAG",
    "chain_length": "C",
    "n_examples": "K",
    "num_hidden_layers": "depth",
}


def varied_axes(cells: list[CellResult]) -> str:
    """The axes on which the cells differ, in words (e.g. ``H, the DAG and C``)."""
    dicts = [c.args.to_dict() for c in cells]
    names = list(dict.fromkeys(AXES[k] for k in AXES if len({str(d[k]) for d in dicts}) > 1))
    if not names:
        return "nothing"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def study1_lines(card: Path, cells, init_cells, figures: dict[str, Path], doc: Path, minutes: float) -> list[str]:
    """Study 1: design, method, the per-cell paired effects, the locality and H contrasts, the figures."""
    trained = [c for c in cells if c.standard and c.cot]
    effects = [cell_effects(c) for c in cells]
    runs = sum(len(c.standard) + len(c.cot) for c in cells)
    seeds = sorted({r.seed for c in trained for r in c.standard + c.cot})
    lines = [
        "## Study 1: does CoT speed up the transition, and does it depend on the answer reading the chain?",
        "",
        "### Design",
        "",
        *design_lines(
            card,
            cells[0].args,
            ", ".join(map(str, seeds)) + " (task seeds; standard and cot share each task and its initial weights)",
            minutes,
            runs,
            sum(c.n_planned for c in cells),
            f"the first cell; the others change {varied_axes(cells)}",
        ),
        pilot_row(cells),
        "",
        method_text(),
        "",
        "### Transition step per cell (paired by seed)",
        "",
        *transition_rows(effects),
        "",
    ]
    for key, alt in (
        ("phase", "Study 1 verdict per cell"),
        ("forest", "Study 1 paired transition-step differences"),
        ("curves", "Study 1 skill curves"),
    ):
        if key in figures:
            lines += [image(figures[key], doc, alt), ""]
    lines += [
        "### Per-seed crossings, logistic midpoint, final and mean skill, cot's per-step accuracy",
        "",
        "Mean skill over training averages each run's skill over its evaluations after step 0 (the area under "
        "its curve over the budget): it needs no threshold, so it still tells a run that plateaus just below "
        f"skill {SKILL_THRESHOLD} from one that passes it. Paired cot − std differences as above.",
        "",
        *secondary_rows(effects),
        "",
    ]
    if "steps" in figures:
        lines += [image(figures["steps"], doc, "Study 1 cot runs' per-step accuracy over training"), ""]
    timed = [e for e in effects if e.final is not None]
    locality = locality_contrasts(timed)
    if locality:
        lines += [
            "### Locality: does CoT help more when the answer reads the chain?",
            "",
            "Mean paired difference cot − std of the transition step (steps; negative: cot crosses first) in "
            "matched cells whose DAG is Markov (each chain token reads its predecessor, so the answer reads the "
            "chain) or reads only the inputs; a negative markov − inputs difference means CoT's speed-up is "
            "larger when the answer reads the chain. In parentheses: seed pairs.",
            "",
            *contrast_rows(locality, "markov", "inputs", "cot − std", -1),
            "",
        ]
    for strategy, first, claimed, text in (
        ("standard", "more diverse", +1, "standard's transition step"),
        ("cot", "more diverse", +1, "cot's transition step"),
        ("speed-up", "less diverse", -1, "paired cot − std difference"),
    ):
        contrasts = diversity_contrasts(timed, strategy)
        if not contrasts:
            continue
        if strategy == "standard":
            lines += [
                "### Diversity of H",
                "",
                "Matched cells that differ only in the pool of token processors H. The first two tables: a "
                "positive more − less diverse difference means limiting the diversity of H speeds the "
                "transition. The last: a negative less − more diverse difference means CoT's speed-up grows "
                "with the diversity of H. In parentheses: runs or seed pairs.",
                "",
            ]
        second = "less diverse" if first == "more diverse" else "more diverse"
        lines += [f"{text.capitalize()}:", "", *contrast_rows(contrasts, first, second, text, claimed), ""]
    lines += ["### Headline", "", transition_headline(cells), ""]
    if init_cells:
        lines += _init_lines(init_cells)
    return lines


def _init_lines(init_cells) -> list[str]:
    lines = ["### Initialisation control (one task, three model_seed values)", ""]
    if any(c.phase != "not run" for c in init_cells):
        return lines + [
            "Task seed 0 of the first cell with model_seed 1, 2, 3: the spread here comes from the initial "
            "weights alone, the spread above from the task as well.",
            "",
            *cell_rows(init_cells),
            "",
        ]
    return lines + [
        "Not trained within the CPU budget (`task_cards/study1_init.toml`: task seed 0 of the first cell "
        "with model_seed 1, 2, 3, which separates the initialisation's share of the spread from the task's).",
        "",
    ]


def recipe_rows(recipes: list[RecipeResult]) -> list[str]:
    head = " | ".join(f"{f:g} CoT, {MODE_NAMES[m]}" for f in FRACTIONS for m in MODES)
    lines = [f"| recipe | CoT share in training | seeds | {head} | free: think rate at 0 CoT |"]
    lines.append("|---|---|---|" + "---|" * (len(FRACTIONS) * len(MODES) + 1))
    for r in recipes:
        if not r.seeds:
            lines.append(f"| `{r.label}` | {r.share:.2f} | not run |" + " - |" * (len(FRACTIONS) * len(MODES) + 1))
            continue
        cells = []
        for f in FRACTIONS:
            for m in MODES:
                v = r.accuracy(f, m)
                cells.append(f"{v.mean():.3f} ({v.min():.2f}–{v.max():.2f})")
        think = r.think_rate.get("0/none")
        rate = f"{think.mean():.2f}" if think is not None and len(think) else "-"
        seeds = ", ".join(map(str, r.seeds))
        lines.append(f"| `{r.label}` | {r.share:.2f} | {seeds} | " + " | ".join(cells) + f" | {rate} |")
    return lines


def recipe_test_rows(recipes: list[RecipeResult]) -> list[str]:
    """Each other recipe against all-CoT at zero CoT demonstrations, paired by seed, free and think-forced."""
    all_cot = with_share(recipes, 1.0)
    others = [r for r in recipes if r is not all_cot and r.seeds]
    if all_cot is None or not others:
        return []
    lines = [
        "| recipe | CoT share | mode | seed pairs | recipe accuracy | all-CoT accuracy | recipe − all-CoT [95% CI] "
        "| d_z [95% CI] | p | verdict (recovers accuracy) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in others:
        for mode in ("none", "think"):
            e = recipe_effect(r, all_cot, mode)
            if e is None:
                continue
            mine, base = r.accuracy(0.0, mode), all_cot.accuracy(0.0, mode)
            lines.append(
                f"| `{r.label}` | {r.share:.2f} | {MODE_NAMES[mode]} | {e.n} | {mine.mean():.3f} | {base.mean():.3f} "
                f"| {interval(e, 3)} | {dz_text(e)} | {p_text(e.p)} | {verdict(e, +1) if r.share > 0 else '-'} |"
            )
    return lines


def sign_flip_floor(recipes: list[RecipeResult]) -> str:
    """The sign-flip floor 2 / 2^n for the seed counts the recipes were paired over, e.g. ``0.031 for 6 pairs``."""
    counts = sorted({len(r.seeds) for r in recipes if r.seeds})
    return ", ".join(f"{p_text(2 / 2**n)} for {n} pair{'s' * (n != 1)}" for n in counts) or "no pairs yet"


def study2_lines(card: Path, recipes: list[RecipeResult], figure: Path, doc: Path, a: Args, minutes: float):
    runs = sum(len(r.seeds) for r in recipes)
    seeds = ", ".join(map(str, sorted({s for r in recipes for s in r.seeds}))) or "none finished"
    tests = recipe_test_rows(recipes)
    lines = [
        "## Study 2: the CoT-recipe and the hidden cost of excessive CoT",
        "",
        "### Design",
        "",
        *design_lines(
            card,
            a,
            f"{seeds} (task seeds, one run per recipe each)",
            minutes,
            runs,
            sum(r.n_planned for r in recipes),
            "every recipe; hybrid_special_token prompts",
        ),
        "",
        "Every final model is evaluated on the same 128 held-out prompts of its task with all demonstrations "
        "in the CoT form, then with the think span removed from a random half or from all of them (the "
        "`drop_cot` transformation), each with free generation, the think token forced and the answer token "
        "forced (the inference package's prompt building, transformers backend, greedy). Cells: mean answer "
        "accuracy over seeds (min–max).",
        "",
        *recipe_rows(recipes),
        "",
        image(figure, doc, "Study 2 accuracy per recipe and test-time CoT fraction"),
        "",
    ]
    if tests:
        lines += [
            "### Each recipe against all-CoT with zero CoT demonstrations",
            "",
            "Runs of different recipes with the same task seed share the task and its held-out prompts and are "
            "compared in pairs: the mean paired difference with a percentile-bootstrap 95% interval, Cohen's "
            "d_z and the exact two-sided sign-flip p (with n pairs the smallest attainable p is 2 / 2^n: "
            f"{sign_flip_floor(recipes)}). Verdict on the mixed recipes: *supported* when p < {ALPHA} and the interval lies "
            "above 0, *contradicted* when both hold below 0, *inconclusive* otherwise; the all-standard recipe "
            "is shown for reference.",
            "",
            *tests,
            "",
        ]
    return lines


def paper_scale_lines(cards: list[tuple[Path, int, int]]) -> list[str]:
    """``cards``: (card path, finished runs, planned runs)."""
    lines = [
        "## Paper scale (GPU): ready to run",
        "",
        "Task cards at the published settings (the default card: a 4-layer hidden-2048 Llama, V=1024, N=4, M=4, "
        "C=2, K=40, a random DAG and fresh H per prompt, bf16) and one script that trains them with torchrun on "
        "every local GPU and regenerates this page with their curves and evaluations:",
        "",
        "```bash",
        "bash scripts/paper_scale.sh        # NGPU=8 ...; BUDGET=120 stops starting runs after 120 min (a slice)",
        "```",
        "",
        "| card | runs finished |",
        "|---|---|",
        *[f"| `{display_path(path)}` | {done} of {planned} |" for path, done, planned in cards],
        "",
    ]
    if not any(done for _, done, _ in cards):
        lines += [
            "**Not run**: the paper-scale cards (GPU-sized) have no finished runs, so no paper-scale number is reported; the CPU "
            "studies above are the only measurements on this page.",
            "",
        ]
    return lines


def claims_lines(claims: list[Claim], scale: str) -> list[str]:
    """A study's "what this says" paragraph: each claim's verdict with its measured numbers."""
    lines = ["### What this says about the claims", ""]
    for c in claims:
        measured = "" if c.measured == "-" else f" {c.measured}."
        scope = "" if c.distance == "-" else f" Scope: {c.distance}."
        lines.append(f"- *{c.claim}* [{c.source}]: **{c.verdict}**.{measured}{scope}")
    return [*lines, "", scale, ""]
