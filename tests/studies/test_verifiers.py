"""The verifier study's resampling-ceiling arithmetic (studies.verifiers)."""

from __future__ import annotations

import numpy as np
import pytest

from studies.verifiers import _group_accuracy, expected_selection_accuracy, plateau


def test_the_expected_selection_accuracy_has_its_limits():
    p = 0.4
    assert expected_selection_accuracy(p, 1, 0.1, 0.1) == pytest.approx(p)  # one sample: pass@1
    assert expected_selection_accuracy(p, 8, 1.0, 0.0) == pytest.approx(p)  # accepts everything: a random pick
    assert expected_selection_accuracy(p, 8, 0.0, 0.0) == pytest.approx(1 - (1 - p) ** 8)  # a perfect verifier: pass@8
    assert expected_selection_accuracy(p, 64, 0.3, 0.1) == pytest.approx(plateau(p, 0.3, 0.1), abs=2e-3)
    assert plateau(p, 0.3, 0.1) == pytest.approx(0.36 / (0.36 + 0.18))


def test_a_group_picks_uniformly_among_the_accepted():
    right = np.array([1, 0, 0, 1], dtype=bool)
    accepted = np.array([1, 1, 0, 0], dtype=bool)
    assert _group_accuracy(right, accepted, 2) == pytest.approx((0.5 + 0.5) / 2)  # none accepted in group 2: 1 of 2
    assert _group_accuracy(right, accepted, 4) == pytest.approx(0.5)
