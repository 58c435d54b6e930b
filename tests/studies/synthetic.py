"""Hand-made Study 1 cells and Study 2 recipes (no training): runs that cross skill 0.5 where told."""

from __future__ import annotations

from functools import cache

import numpy as np

from studies.study1 import CellResult, RunSpeed, classify
from studies.study2 import RecipeResult
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.experiments.statistics import logistic_fit

STEPS = np.arange(0, 3001, 250)
MAJORITY = 0.3


def accuracy_curve(cross_at: int | None) -> np.ndarray:
    accuracy = np.full(len(STEPS), MAJORITY)
    if cross_at is not None:
        accuracy[STEPS >= cross_at] = 0.9
    return accuracy


@cache
def _fit(cross_at: int | None):
    # one grid fit per distinct curve keeps the tests fast
    return logistic_fit(STEPS, (accuracy_curve(cross_at) - MAJORITY) / (1 - MAJORITY))


def run(strategy: str, seed: int, cross_at: int | None, chain: int = 2) -> RunSpeed:
    """Skill 0 until ``cross_at``, then a step to 0.9 accuracy (never: flat at the majority answer)."""
    per_index = [0.95] * chain if strategy == "cot" else [0.9]
    accuracy = accuracy_curve(cross_at)
    curves = np.array([accuracy] * len(per_index))
    return RunSpeed(
        f"{strategy}-seed{seed}", seed, seed, strategy, STEPS, accuracy, MAJORITY, per_index, _fit(cross_at), curves
    )


def cell(name: str, std, cot, **fields) -> CellResult:
    """One cell with standard crossing at ``std[i]`` and cot at ``cot[i]`` for seed i."""
    fields = {"ablation_fixed_H": True, "num_unique_H": 4, "dag_strategy": "markov", "chain_length": 2} | fields
    standard = [run("standard", s, c, fields["chain_length"]) for s, c in enumerate(std)]
    cots = [run("cot", s, c, fields["chain_length"]) for s, c in enumerate(cot)]
    phase, p_u, p_p, sep = classify(standard, cots)
    return CellResult(name, Args(**fields), 2 * len(std), standard, cots, phase, p_u, p_p, sep)


def recipe(label: str, share: float, seeds, points: dict[str, list[float]]) -> RecipeResult:
    arrays = {k: np.array(v) for k, v in points.items()}
    return RecipeResult(label, share, list(seeds), len(seeds), [0.9] * len(seeds), arrays, arrays)
