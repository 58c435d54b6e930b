"""Study 1's per-cell decisions on hand-made runs: skill, crossings, pairing, phase."""

from __future__ import annotations

import numpy as np
import pytest

from studies.study1 import RunSpeed, classify, pair_runs
from tokenized_cot_icl.experiments.statistics import logistic_fit

STEPS = np.array([0, 50, 100, 150, 200, 250, 300, 350, 400])


def _run(strategy: str, seed: int, cross_at: int | None, init: int | None = None, majority: float = 0.3) -> RunSpeed:
    """A run whose accuracy sits at the majority answer, then jumps to 0.9 at ``cross_at``."""
    accuracy = np.full(len(STEPS), majority)
    if cross_at is not None:
        accuracy[STEPS >= cross_at] = 0.9
    skill = (accuracy - majority) / (1 - majority)
    return RunSpeed(f"{strategy}-seed{seed}", seed, seed if init is None else init, strategy, STEPS, accuracy,
                    majority, [0.9], logistic_fit(STEPS, skill))  # fmt: skip


def test_skill_is_measured_above_the_majority_answer():
    run = _run("cot", 0, 200, majority=0.4)
    assert run.skill[0] == pytest.approx(0.0) and run.skill[-1] == pytest.approx(0.5 / 0.6)
    assert run.crossing == 200 and run.censored_crossing == 200.0
    assert _run("cot", 0, None).censored_crossing == 800.0  # never: twice the last step


@pytest.mark.parametrize(
    ("std", "cot", "phase"),
    [
        ((300, 350, 400), (100, 150, 200), "cot faster"),
        ((100, 150, 200), (300, 350, None), "standard faster"),
        ((100, 300, 200), (150, 250, 250), "no clear difference"),
        ((None, None, None), (None, None, None), "neither learns"),
    ],
)
def test_phase_from_paired_crossings(std, cot, phase):
    standard = [_run("standard", s, c) for s, c in enumerate(std)]
    cots = [_run("cot", s, c) for s, c in enumerate(cot)]
    got, p_unpaired, p_paired, separate = classify(standard, cots)
    assert got == phase
    if phase in ("cot faster", "standard faster"):
        assert separate and p_unpaired == pytest.approx(0.1) and p_paired == pytest.approx(0.25)
    assert classify(standard, [])[0] == "not run"


def test_pairs_share_task_seed_and_initialisation():
    standard = [_run("standard", 0, 100, init=i) for i in (1, 2, 3)]
    cot = [_run("cot", 0, 200, init=i) for i in (3, 1)]
    pairs = pair_runs(standard, cot)
    assert [(s.init, c.init) for s, c in pairs] == [(1, 1), (3, 3)]
