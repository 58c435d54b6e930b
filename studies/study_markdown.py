"""Markdown of the two studies, the claim verdicts and the paper-scale section (rendering only)."""

from __future__ import annotations

import math
import os
from pathlib import Path

from studies.claims import Claim
from studies.markdown import display_path, what_is_drawn
from studies.study1 import SKILL_THRESHOLD, CellResult, h_diversity, reason
from studies.study2 import FRACTIONS, MODE_NAMES, MODES, RecipeResult
from tokenized_cot_icl.foundation.config import Args


def _steps(values) -> str:
    return ", ".join("never" if v is None else f"{v:.0f}" for v in values)


def _p(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.2f}"


def image(path: Path, doc: Path, alt: str) -> str:
    return f"![{alt}]({os.path.relpath(path, doc.parent)})"


def claims_table(claims: list[Claim]) -> list[str]:
    lines = ["| claim (paper) | measured here | verdict | distance from the claim |", "|---|---|---|---|"]
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
        "(one run at a time, one thread, on a 2-core machine shared with other work) |",
    ]


def cell_rows(cells: list[CellResult]) -> list[str]:
    lines = [
        "| cell | H | C | K | layers | phase | skill ≥ 0.5 at (std / cot, per seed) | logistic transition step "
        "(std / cot) | final skill (std / cot) | p unpaired / paired | why |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        a = c.args
        head = (
            f"| `{c.cell}` | {h_diversity(a)} | {a.chain_length} | {a.n_examples} | {a.num_hidden_layers} | {c.phase}"
        )
        if c.phase == "not run":
            lines.append(head + " | - | - | - | - | not trained within the CPU budget |")
            continue
        cross = f"{_steps(r.crossing for r in c.standard)} / {_steps(r.crossing for r in c.cot)}"
        fits = f"{_steps(r.transition_step for r in c.standard)} / {_steps(r.transition_step for r in c.cot)}"
        final = (
            ", ".join(f"{r.final_skill:.2f}" for r in c.standard)
            + " / "
            + ", ".join(f"{r.final_skill:.2f}" for r in c.cot)
        )
        partial = "" if c.complete else f" (partial: {len(c.standard) + len(c.cot)} of {c.n_planned} runs)"
        lines.append(
            f"{head}{partial} | {cross} | {fits} | {final} | {_p(c.p_unpaired)} / {_p(c.p_paired)} | {reason(c)} |"
        )
    return lines


def study1_lines(card: Path, cells, init_cells, figures: dict[str, Path], doc: Path, minutes: float) -> list[str]:
    trained = [c for c in cells if c.phase != "not run"]
    runs = sum(len(c.standard) + len(c.cot) for c in cells)
    seeds = sorted({r.seed for c in trained for r in c.standard + c.cot})
    lines = [
        "## Study 1: where does CoT speed up the transition?",
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
            "the first cell; the others change C, K, H and depth",
        ),
        "",
        "Accuracy is reported as **skill above the majority answer**, `(acc - maj) / (1 - maj)` with `maj` the "
        "accuracy of always giving the eval set's most frequent answer: the generator's answers concentrate on a "
        "few tokens, so raw accuracy reaches `maj` within a few dozen steps for either strategy and says nothing "
        f"about learning the task. Transition speed is measured the same way for every run: the first evaluated "
        f"step with skill ≥ {SKILL_THRESHOLD} and the midpoint of a logistic fit of skill against log10(step) "
        "(reported only when the fit rises by ≥ 0.2 with its midpoint inside the trained steps). A cell's phase "
        "is *cot faster* / *standard faster* when the seeds' crossing steps do not overlap (a run that never "
        "crossed counts as slower than any that did), *no clear difference* otherwise, *neither learns* when no "
        "run crossed. Significance: exact permutation tests on log10 crossing steps; with 3 seeds per strategy "
        "the smallest attainable two-sided p is 0.10 (unpaired) and 0.25 (paired sign flips), so non-overlapping "
        "seed ranges are the strongest statement 3 seeds allow.",
        "",
        "### Phase diagram",
        "",
        image(figures["phase"], doc, "Study 1 phase diagram"),
        "",
        *cell_rows(cells),
        "",
        image(figures["curves"], doc, "Study 1 skill curves per cell"),
        "",
    ]
    if init_cells:
        lines += ["### Initialisation control (one task, three model_seed values)", ""]
        if any(c.phase != "not run" for c in init_cells):
            lines += [
                "Task seed 0 of the first cell with model_seed 1, 2, 3: the spread here comes from the initial "
                "weights alone, the spread above from the task as well.",
                "",
                *cell_rows(init_cells),
                "",
            ]
        else:
            lines += [
                "Not trained within the CPU budget (`task_cards/study1_init.toml`: task seed 0 of the first cell "
                "with model_seed 1, 2, 3, which separates the initialisation's share of the spread from the task's).",
                "",
            ]
    return lines


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


def study2_lines(card: Path, recipes: list[RecipeResult], figure: Path, doc: Path, a: Args, minutes: float):
    runs = sum(len(r.seeds) for r in recipes)
    seeds = ", ".join(map(str, sorted({s for r in recipes for s in r.seeds}))) or "none finished"
    return [
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
        lines.append(f"- *{c.claim}* [{c.source}]: **{c.verdict}**. {c.measured}; {c.distance}.")
    return [*lines, "", scale, ""]
