"""Study 1's effects with intervals: paired cot - standard differences per cell, and contrasts of them.

Computed only from the runs' measured curves (:class:`~studies.study1.RunSpeed`):

- a run's **transition step** is the first evaluated step with skill >= 0.5; a run that never
  gets there is *censored at its budget* (its last evaluated step). Counting it at the budget
  understates how slow it was, so a censored difference is conservative; the number of runs that
  reached is reported beside every mean;
- per cell, the paired differences ``cot - standard`` (pairs share the task and the initial
  weights) of the transition step, of the logistic midpoint (pairs where both fits found one) and
  of the final skill, each with a seeded paired-bootstrap 95% interval, Cohen's ``d_z`` with its
  interval and an exact sign-flip p (:func:`~tokenized_cot_icl.experiments.statistics.paired_effect`);
- contrasts between matched cells (every Args field equal but the one varied): how CoT's paired
  speed-up changes with the DAG's locality (the answer reads the chain, ``markov``, or only the
  inputs, ``inputs``) and how the transition changes with the diversity of H
  (:func:`~tokenized_cot_icl.experiments.statistics.stratified_effect`); two cells where no run
  reached skill 0.5 are not contrasted (both sit at the budget: nothing to compare).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from studies.study1 import CellResult, RunSpeed, h_diversity
from tokenized_cot_icl.experiments.statistics import Effect, paired_effect, stratified_effect

ALPHA = 0.05
# Fields that differ between the runs of one cell, or only name things: never part of a cell's identity.
RUN_FIELDS = ("seed", "model_seed", "prompt_strategy", "enable_cot", "run_name", "output_base_dir")
H_FIELDS = ("ablation_fixed_H", "num_unique_H")
LOCALITY = {"markov": "answer reads the chain", "inputs": "answer reads only the inputs"}


def budget(run: RunSpeed) -> int:
    return int(run.steps[-1])


def transition_step(run: RunSpeed) -> float:
    """The first evaluated step with skill >= 0.5, or the run's budget (its last step) when never reached."""
    return float(run.crossing) if run.crossing is not None else float(budget(run))


@dataclass(frozen=True)
class CellEffects:
    """One cell's paired cot - standard effects (None where the cell has no pair to measure)."""

    cell: CellResult
    n_pairs: int
    reached_standard: int  # runs (of the paired ones) that reached skill 0.5 within their budget
    reached_cot: int
    budget: int
    mean_standard: float | None  # mean transition step, censored at the budget
    mean_cot: float | None
    transition: Effect | None  # cot - standard transition step (censored at the budget)
    midpoint: Effect | None  # cot - standard logistic midpoint, pairs where both fits have one
    final: Effect | None  # cot - standard final skill
    cot_per_step: list[float]  # mean final accuracy of y1..yC over the cell's cot runs
    area: Effect | None = None  # cot - standard mean skill over the evaluations after step 0 (no threshold)

    @property
    def timed(self) -> bool:
        """Some paired run reached skill 0.5: there is a transition to time."""
        return self.reached_standard + self.reached_cot > 0

    def differences(self) -> np.ndarray:
        """Per-pair cot - standard transition steps (censored at the budget), in pair order."""
        return np.array([transition_step(c) - transition_step(s) for s, c in self.cell.pairs])


def cell_effects(cell: CellResult, seed: int = 0) -> CellEffects:
    pairs = cell.pairs
    if not pairs:
        return CellEffects(cell, 0, 0, 0, 0, None, None, None, None, None, _per_step(cell), None)
    std = np.array([transition_step(s) for s, _ in pairs])
    cot = np.array([transition_step(c) for _, c in pairs])
    mids = [(c.transition_step, s.transition_step) for s, c in pairs]
    mids = [(c, s) for c, s in mids if c is not None and s is not None]
    midpoint = paired_effect([c for c, _ in mids], [s for _, s in mids], seed) if mids else None
    final = paired_effect([c.final_skill for _, c in pairs], [s.final_skill for s, _ in pairs], seed)
    return CellEffects(
        cell,
        len(pairs),
        sum(s.crossing is not None for s, _ in pairs),
        sum(c.crossing is not None for _, c in pairs),
        max(budget(r) for pair in pairs for r in pair),
        float(std.mean()),
        float(cot.mean()),
        paired_effect(cot, std, seed),
        midpoint,
        final,
        _per_step(cell),
        paired_effect([mean_skill(c) for _, c in pairs], [mean_skill(s) for s, _ in pairs], seed),
    )


def mean_skill(run: RunSpeed) -> float:
    """Skill averaged over the evaluations after step 0: how early and how high, with no threshold to cross."""
    return float(np.mean(run.skill[run.steps > 0]))


def _per_step(cell: CellResult) -> list[float]:
    rows = [r.per_index for r in cell.cot if r.per_index]
    if not rows or len({len(r) for r in rows}) != 1:
        return []
    return [float(v) for v in np.mean(rows, axis=0)]


def in_context(cell: CellResult) -> bool:
    """H must be inferred from the demonstrations (a pool or fresh per prompt), the paper's regime."""
    return h_diversity(cell.args) != "fixed"


def transition_regime(effects: list[CellEffects]) -> list[CellEffects]:
    """The cells a pooled transition verdict covers: the timed in-context cells (the timed fixed-H ones if none)."""
    timed = [e for e in effects if e.timed]
    return [e for e in timed if in_context(e.cell)] or timed


def dag_strata(regime: list[CellEffects]) -> list[tuple[str, list[CellEffects]]]:
    """The cells grouped by DAG strategy, in card order; empty with one strategy (the pool says it all).

    The locality axis predicts opposite signs in its strata, so each is pooled on its own too.
    """
    dags = list(dict.fromkeys(e.cell.args.dag_strategy for e in regime))
    if len(dags) < 2:
        return []
    return [(dag, [e for e in regime if e.cell.args.dag_strategy == dag]) for dag in dags]


def pooled_final_skill(effects: list[CellEffects], seed: int = 0) -> Effect | None:
    """The paired cot - standard final-skill effect over every pair of the given cells together."""
    pairs = [pair for e in effects for pair in e.cell.pairs]
    if not pairs:
        return None
    return paired_effect([c.final_skill for _, c in pairs], [s.final_skill for s, _ in pairs], seed)


def pooled_transition(effects: list[CellEffects], seed: int = 0) -> Effect | None:
    """The paired cot - standard transition-step effect over every pair of the given cells together."""
    d = np.concatenate([e.differences() for e in effects]) if effects else np.array([])
    return paired_effect(d, np.zeros(len(d)), seed) if len(d) else None


# ---- matched cells -----------------------------------------------------------------------------
def cell_key(cell: CellResult, varied: tuple[str, ...]) -> str:
    """Everything that defines the cell except ``varied`` (cells with equal keys differ only there)."""
    fields = cell.args.to_dict()
    return json.dumps({k: v for k, v in fields.items() if k not in RUN_FIELDS + varied}, sort_keys=True, default=str)


def matched(cells: list[CellResult], varied: tuple[str, ...]) -> list[list[CellResult]]:
    """Groups of cells that are identical except in ``varied`` (groups of one left out), in card order."""
    groups: dict[str, list[CellResult]] = {}
    for c in cells:
        groups.setdefault(cell_key(c, varied), []).append(c)
    return [g for g in groups.values() if len(g) > 1]


def held_fixed(cell: CellResult) -> str:
    """The cell's H, DAG and C in words (what a contrast holds fixed, less the varied axis)."""
    a = cell.args
    return f"H {h_diversity(a)}, DAG {a.dag_strategy}, C={a.chain_length}"


@dataclass(frozen=True)
class Contrast:
    """How a paired cot - standard effect (or a strategy's transition step) differs between two matched cells.

    ``effect`` is ``mean(values of first) - mean(values of second)`` over independent seeds,
    with its bootstrap interval and a relabelling p (one stratum per matched pair of cells).
    """

    label: str  # what the two cells share
    first: CellEffects
    second: CellEffects
    a: np.ndarray  # the first cell's values (per seed)
    b: np.ndarray
    effect: Effect


def _two_cells(first: CellEffects, second: CellEffects, values, label: str, seed: int) -> Contrast | None:
    """The contrast, or None when a cell has no values or neither cell has a transition to time."""
    a, b = values(first), values(second)
    if not len(a) or not len(b) or not (first.timed or second.timed):
        return None
    return Contrast(label, first, second, a, b, stratified_effect([(a, b)], seed))


def locality_contrasts(effects: list[CellEffects], seed: int = 0) -> list[Contrast]:
    """Per matched pair (markov, inputs): mean cot - standard transition difference, markov minus inputs.

    Negative: CoT's speed-up (a negative difference) is larger when the answer reads the chain.
    """
    by_cell = {id(e.cell): e for e in effects}
    out = []
    for group in matched([e.cell for e in effects], ("dag_strategy",)):
        markov = [c for c in group if c.args.dag_strategy == "markov"]
        inputs = [c for c in group if c.args.dag_strategy == "inputs"]
        for m in markov:
            for i in inputs:
                label = f"H {h_diversity(m.args)}, C={m.args.chain_length}"
                made = _two_cells(by_cell[id(m)], by_cell[id(i)], CellEffects.differences, label, seed)
                if made is not None:
                    out.append(made)
    return out


def _h_rank(cell: CellResult) -> tuple[int, int]:
    a = cell.args
    if not a.ablation_fixed_H:
        return (2, 0)
    return (1, a.num_unique_H) if a.num_unique_H > 0 else (0, 0)


def diversity_contrasts(effects: list[CellEffects], strategy: str, seed: int = 0) -> list[Contrast]:
    """Per matched pair of neighbouring H levels (less diverse first): transition steps, more minus less diverse.

    ``strategy`` is ``standard``, ``cot`` (that strategy's transition steps, censored at the budget;
    positive: limiting the diversity of H speeds the transition) or ``speed-up`` (the paired
    cot - standard differences, less minus more diverse; negative: CoT helps more with a more
    diverse H).
    """
    by_cell = {id(e.cell): e for e in effects}

    def values(e: CellEffects) -> np.ndarray:
        if strategy == "speed-up":
            return e.differences()
        runs = e.cell.standard if strategy == "standard" else e.cell.cot
        return np.array([transition_step(r) for r in runs])

    out = []
    for group in matched([e.cell for e in effects], H_FIELDS):
        ordered = sorted(group, key=_h_rank)
        for less, more in zip(ordered, ordered[1:]):
            label = f"H {h_diversity(less.args)} vs {h_diversity(more.args)}, DAG {less.args.dag_strategy}, C={less.args.chain_length}"
            first, second = (by_cell[id(less)], by_cell[id(more)])
            if strategy != "speed-up":
                first, second = second, first
            made = _two_cells(first, second, values, label, seed)
            if made is not None:
                out.append(made)
    return out


def pooled_contrast(contrasts: list[Contrast], seed: int = 0) -> Effect | None:
    """The contrasts' mean effect with each matched pair of cells as one stratum."""
    return stratified_effect([(c.a, c.b) for c in contrasts], seed) if contrasts else None


# ---- wording shared by the claims and the Markdown ----------------------------------------------
def number(value: float | None, digits: int = 0) -> str:
    if value is None or np.isnan(value):
        return "-"
    if np.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}f}".replace("-", "−")


def p_text(p: float) -> str:
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def interval(effect: Effect, digits: int = 0) -> str:
    """``mean [low, high]``."""
    return f"{number(effect.mean, digits)} [{number(effect.low, digits)}, {number(effect.high, digits)}]"


def dz_text(effect: Effect) -> str:
    if effect.dz is None or np.isnan(effect.dz):
        return "-"
    return f"{number(effect.dz, 2)} [{number(effect.dz_low, 2)}, {number(effect.dz_high, 2)}]"


def verdict(effect: Effect | None, claimed: int, alpha: float = ALPHA) -> str:
    """The verdict on a directional claim (``claimed``: the sign the claim predicts for ``effect.mean``).

    ``supported``: two-sided p < alpha and the 95% interval excludes 0 on the claimed side;
    ``contradicted``: the same on the other side; otherwise ``inconclusive``, saying why (the p,
    whether the interval spans 0, and the smallest p the design can reach when that is >= alpha).
    """
    if effect is None:
        return "not tested"
    side = np.sign(effect.mean)
    ci = f"95% CI {'excludes' if effect.excludes_zero else 'spans'} 0"
    if effect.p < alpha and effect.excludes_zero and side == claimed:
        return f"supported (p={p_text(effect.p)}, {ci})"
    if effect.p < alpha and effect.excludes_zero and side == -claimed:
        return f"contradicted (p={p_text(effect.p)}, {ci})"
    if effect.p_floor >= alpha and effect.excludes_zero:  # the data lean one way; the design cannot say more
        design = f"these {effect.n} pair{'s' * (effect.n != 1)}" if effect.dz is not None else "this design"
        return (
            f"inconclusive (p={p_text(effect.p)}; the smallest p {design} can reach is {p_text(effect.p_floor)}; {ci})"
        )
    return f"inconclusive (p={p_text(effect.p)}, {ci})"


def transition_verdict(e: CellEffects) -> str:
    """A cell's verdict on "CoT reaches skill 0.5 sooner" (paired, censored at the budget)."""
    if not e.n_pairs:
        return "not run"
    if not e.timed:
        return f"not tested (no run reached skill 0.5 in {e.budget} steps)"
    return verdict(e.transition, -1)
