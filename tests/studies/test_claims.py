"""Claim verdicts from hand-made numbers: pooled seed pairs, differences, underpowered cases."""

from __future__ import annotations

import numpy as np
import pytest

from studies.claims import _difference_verdict, cot_speeds_transition, pooled_pairs
from studies.study1 import CellResult, classify
from tests.studies.test_study1 import _run
from tokenized_cot_icl.core.args import Args


def _cell(name: str, std, cot) -> CellResult:
    standard = [_run("standard", s, c) for s, c in enumerate(std)]
    cots = [_run("cot", s, c) for s, c in enumerate(cot)]
    phase, p_u, p_p, sep = classify(standard, cots)
    return CellResult(name, Args(ablation_fixed_H=True), 2 * len(std), standard, cots, phase, p_u, p_p, sep)


def test_pooled_pairs_count_who_crossed_first():
    cells = [_cell("a", (100, 150, None), (200, 300, None)), _cell("b", (100, 100, 100), (150, 200, 250))]
    pooled = pooled_pairs(cells)
    assert (pooled.n, pooled.standard_first, pooled.cot_first) == (5, 5, 0)  # the never/never pair is left out
    assert pooled.p_two_sided == pytest.approx(2 / 32)


def test_transition_claim_is_contradicted_when_standard_is_reliably_first():
    cells = [_cell(str(i), (100, 100, 150), (200, 250, 300)) for i in range(2)]
    claim = cot_speeds_transition(cells)
    assert claim.verdict == "contradicted" and "standard crossed skill 0.5 first in 6" in claim.measured
    assert "fixed H" in claim.distance
    assert cot_speeds_transition([_cell("n", (None,) * 3, (None,) * 3)]).verdict == "not tested"


@pytest.mark.parametrize(
    ("better", "worse", "verdict"),
    [
        ([0.9, 0.95, 0.92], [0.5, 0.6, 0.55], "supported"),
        ([0.9, 0.95], [0.5, 0.6], "consistent, underpowered"),
        ([0.9, 0.5, 0.92], [0.5, 0.6, 0.55], "mixed"),
        ([0.5, 0.6], [0.5, 0.6], "not reproduced"),
    ],
)
def test_difference_verdicts(better, worse, verdict):
    assert _difference_verdict(np.array(better), np.array(worse), "gain")[0] == verdict
