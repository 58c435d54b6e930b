"""Study 1: per cell of a phase-diagram card, how fast do standard and cot prompts learn?

Accuracy is measured as **skill above the majority answer**: ``(acc - maj) / (1 - maj)``, where
``maj`` is the accuracy of always answering the eval set's most frequent answer token. The
generator's answers are concentrated on a few tokens, so raw accuracy jumps to ``maj`` within
a few dozen steps for either strategy; skill 0 is that plateau and 1 is a perfect model.

Transition speed of a run: the first evaluated step with skill >= :data:`SKILL_THRESHOLD`
(a run that never gets there is censored at twice its last step, so it ranks slower than any
run that did) and the midpoint of a logistic fit of skill against log10(step). Runs of the two
strategies with the same seed share the task and the initial weights and are compared in pairs.

Every number comes from the runs' summaries (:mod:`tokenized_cot_icl.experiments.summaries`): a
finished run directory without one is summarised first, so the study reads the same numbers
whether its run directories still exist or only the committed summaries do.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenized_cot_icl.analysis.runs import ANSWER_KEY, chain_index_keys, metric_keys
from tokenized_cot_icl.experiments.scheduler import PlannedRun, plan_runs
from tokenized_cot_icl.experiments.statistics import (
    LogisticFit,
    first_step_reaching,
    logistic_fit,
    paired_permutation_test,
    permutation_test,
    ranges_separate,
)
from tokenized_cot_icl.experiments.summaries import RunSummary, SummaryStore, summarize_run
from tokenized_cot_icl.foundation.config import Args

SKILL_THRESHOLD = 0.5
PHASES = ("cot faster", "standard faster", "no clear difference", "neither learns", "not run")


@dataclass
class RunSpeed:
    """One finished run's curve and transition numbers."""

    name: str
    seed: int
    init: int  # the model_seed (default: the seed)
    strategy: str
    steps: np.ndarray
    accuracy: np.ndarray
    majority: float
    per_index: list[float]  # final accuracy of y1..yC (cot) or of the answer (standard)
    fit: LogisticFit | None
    # accuracy of y1..yC at every evaluated step, one row per chain index (None: not recorded)
    per_index_curves: np.ndarray | None = None

    @property
    def skill(self) -> np.ndarray:
        return (self.accuracy - self.majority) / (1 - self.majority)

    @property
    def crossing(self) -> int | None:
        return first_step_reaching(self.steps, self.skill, SKILL_THRESHOLD)

    @property
    def censored_crossing(self) -> float:
        return float(self.crossing) if self.crossing is not None else 2.0 * float(self.steps[-1])

    @property
    def transition_step(self) -> float | None:
        return self.fit.transition_step if self.fit is not None else None

    @property
    def final_skill(self) -> float:
        return float(self.skill[-1])


def run_speed(source: Path | RunSummary) -> RunSpeed:
    """A run's speed numbers from its summary (a run directory is summarised in memory first)."""
    run = source if isinstance(source, RunSummary) else RunSummary(summarize_run(source))
    steps, accuracy = run.series(ANSWER_KEY)
    majority = run.majority_share
    keys = chain_index_keys(metric_keys(run.records))
    curves = np.array([run.series(key)[1] for _, key in keys]) if keys else None
    per_index = [float(row[-1]) for row in curves] if curves is not None else []
    skill = (accuracy - majority) / (1 - majority)
    fit = logistic_fit(steps, skill) if int((steps > 0).sum()) >= 3 else None
    args = run.args
    return RunSpeed(
        run.name, args.seed, args.init_seed, args.prompt_strategy, steps, accuracy, majority, per_index, fit, curves
    )


@dataclass
class CellResult:
    """Standard vs cot in one cell, paired by task seed."""

    cell: str
    args: Args  # the cell's standard entry
    n_planned: int
    standard: list[RunSpeed]
    cot: list[RunSpeed]
    phase: str
    p_unpaired: float | None = None  # exact permutation test on log10 crossing steps, two-sided
    p_paired: float | None = None  # exact sign-flip test over seeds, two-sided
    separate: bool = False  # seed ranges of the crossing steps do not overlap

    @property
    def complete(self) -> bool:
        return len(self.standard) + len(self.cot) == self.n_planned

    @property
    def pairs(self) -> list[tuple[RunSpeed, RunSpeed]]:
        return pair_runs(self.standard, self.cot)


def pair_runs(standard: list[RunSpeed], cot: list[RunSpeed]) -> list[tuple[RunSpeed, RunSpeed]]:
    """(standard, cot) runs with the same task seed and the same initial weights."""
    by_key = {(r.seed, r.init): r for r in cot}
    return [(s, by_key[(s.seed, s.init)]) for s in standard if (s.seed, s.init) in by_key]


def classify(standard: list[RunSpeed], cot: list[RunSpeed]) -> tuple[str, float | None, float | None, bool]:
    """The cell's phase and its significance numbers from the (paired) crossing steps."""
    if not standard or not cot:
        return "not run", None, None, False
    if all(r.crossing is None for r in standard + cot):
        return "neither learns", None, None, False
    pairs = pair_runs(standard, cot)
    log_s = np.log10([s.censored_crossing for s, _ in pairs])
    log_c = np.log10([c.censored_crossing for _, c in pairs])
    p_unpaired = permutation_test(log_c, log_s) if len(pairs) >= 2 else None
    p_paired = paired_permutation_test(log_c, log_s) if len(pairs) >= 2 else None
    separate = len(pairs) >= 2 and ranges_separate(log_c, log_s)
    if separate and log_c.max() < log_s.min():
        phase = "cot faster"
    elif separate and log_s.max() < log_c.min():
        phase = "standard faster"
    else:
        phase = "no clear difference"
    return phase, p_unpaired, p_paired, separate


def cell_results(card: str | os.PathLike, runs_dir: Path, summaries: SummaryStore | None = None) -> list[CellResult]:
    """One result per cell of the card, in card order; runs with neither a summary in ``summaries``
    nor a finished directory in ``runs_dir`` are left out (and counted). Without ``summaries`` the
    run directories are summarised in memory."""
    _, planned = plan_runs(card)
    store = summaries or SummaryStore(None)
    cells: dict[str, list[PlannedRun]] = {}
    for p in planned:
        cells.setdefault(p.cell, []).append(p)
    out = []
    for cell, members in cells.items():
        found = [store.get(p, runs_dir) for p in members]
        done = [run_speed(s) for s in found if s is not None]
        standard = [r for r in done if r.strategy == "standard"]
        cot = [r for r in done if r.strategy == "cot"]
        phase, p_unpaired, p_paired, separate = classify(standard, cot)
        args = next(p.args for p in members if p.args.prompt_strategy == "standard")
        out.append(CellResult(cell, args, len(members), standard, cot, phase, p_unpaired, p_paired, separate))
    return out


def h_diversity(args: Args) -> str:
    if not args.ablation_fixed_H:
        return "fresh per prompt"
    return f"pool of {args.num_unique_H}" if args.num_unique_H > 0 else "fixed"


def reason(result: CellResult) -> str:
    """Why the cell lands where it does, stated from its numbers (per-step accuracies of the cot runs)."""
    if result.phase == "not run":
        return "not trained within the CPU budget"
    a, steps = result.args, int(max(r.steps[-1] for r in result.standard + result.cot))
    per_step = np.mean([r.per_index for r in result.cot], axis=0) if result.cot else np.array([])
    chain = ", ".join(f"y{i + 1} {v:.2f}" for i, v in enumerate(per_step))
    used = f"cot's final per-step accuracy {chain}"
    if result.phase == "neither learns":
        where = "H must be inferred from the demonstrations" if h_diversity(a) != "fixed" else "the weights"
        first = f"; the first step alone reaches {per_step[0]:.2f}" if len(per_step) else ""
        return f"no run reached skill {SKILL_THRESHOLD} in {steps} steps ({where}); {ahead(result)}{first}"
    if len(per_step) and per_step.min() < 0.6:
        compounding = f"cot has only partly learned the steps themselves ({used})"
    elif len(per_step) and per_step[0] - per_step[-1] > 0.15:
        compounding = f"errors compound along the chain ({used})"
    else:
        compounding = f"cot computes the chain step by step ({used})"
    if result.phase == "cot faster":
        return f"{compounding}; standard must compose {a.chain_length} steps in {a.num_hidden_layers} layer(s)"
    if result.phase == "standard faster":
        return f"{compounding}; cot must get every step right before its answer counts"
    earlier = sum(c.censored_crossing > s.censored_crossing for s, c in result.pairs)
    return f"{compounding}; standard crossed earlier in {earlier}/{len(result.pairs)} seed pairs; {ahead(result)}"


def ahead(result: CellResult) -> str:
    """Where the runs stand at the last step: mean final skill and how many seed pairs cot leads."""
    pairs = result.pairs
    lead = sum(c.final_skill > s.final_skill for s, c in pairs)
    s_mean = np.mean([s.final_skill for s, _ in pairs]) if pairs else float("nan")
    c_mean = np.mean([c.final_skill for _, c in pairs]) if pairs else float("nan")
    return f"final skill cot {c_mean:.2f} vs standard {s_mean:.2f}, cot ahead in {lead}/{len(pairs)} seed pairs"


def mean_or_none(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(kept)) if kept else None
