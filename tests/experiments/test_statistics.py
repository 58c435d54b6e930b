"""Threshold crossings and the standard-vs-cot comparison on hand-made curves."""

from __future__ import annotations

import numpy as np
import pytest

from tokenized_cot_icl.experiments.statistics import compare, first_step_reaching, mean_steps, reached

STEPS = np.array([0, 100, 200, 300])


def test_first_step_reaching():
    values = np.array([0.1, 0.49, 0.5, 0.9])
    assert first_step_reaching(STEPS, values, 0.5) == 200  # >= counts
    assert first_step_reaching(STEPS, values, 0.95) is None
    assert first_step_reaching(STEPS, values, 0.0) == 0


def test_mean_steps_counts_never_at_the_cap():
    assert mean_steps([100, None], cap=300) == 200.0
    assert reached([100, None, 5]) == 2


def _crossings(table, thresholds=(0.5, 0.8)):
    return {t: [first_step_reaching(STEPS, row, t) for row in table] for t in thresholds}


@pytest.mark.parametrize(
    ("cot", "std", "category"),
    [
        ([[0.1, 0.6, 0.9, 0.9], [0.1, 0.7, 0.9, 1.0]], [[0.1, 0.2, 0.6, 0.9], [0.1, 0.2, 0.3, 0.6]], "agrees"),
        ([[0.1, 0.2, 0.6, 0.9], [0.1, 0.2, 0.3, 0.6]], [[0.1, 0.6, 0.9, 0.9], [0.1, 0.7, 0.9, 1.0]], "against"),
        ([[0.1, 0.6, 0.9, 0.9], [0.1, 0.2, 0.3, 0.6]], [[0.1, 0.2, 0.6, 0.9], [0.1, 0.7, 0.9, 1.0]], "overlap"),
        ([[0.1, 0.2, 0.3, 0.4], [0.1, 0.1, 0.2, 0.2]], [[0.1, 0.2, 0.3, 0.3], [0.1, 0.2, 0.2, 0.4]], "untested"),
    ],
)
def test_compare_categories(cot, std, category):
    cot, std = np.array(cot), np.array(std)
    c = compare(cot, std, _crossings(cot), _crossings(std), last_step=300, n_seeds=2, majority_share=0.2)
    assert c.category == category
    assert c.final_cot.tolist() == cot[:, -1].tolist() and c.auc_std.tolist() == std.mean(axis=1).tolist()
    assert c.lowest == 0.5


# ---- transition speed and significance ----------------------------------------------------------
from tokenized_cot_icl.experiments.statistics import (  # noqa: E402
    logistic_fit,
    paired_permutation_test,
    permutation_test,
    ranges_separate,
)

LOG_STEPS = np.array([0, 25, 50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600])


def _curve(mid_step: float, width: float = 0.12, low: float = 0.05, high: float = 0.95) -> np.ndarray:
    x = np.log10(np.maximum(LOG_STEPS, 1))
    return low + (high - low) / (1 + np.exp(-(x - np.log10(mid_step)) / width))


@pytest.mark.parametrize("mid_step", [120, 300, 700])
def test_logistic_fit_recovers_a_synthetic_transition(mid_step):
    fit = logistic_fit(LOG_STEPS, _curve(mid_step))
    assert fit.transition_step == pytest.approx(mid_step, rel=0.1)
    assert fit.low == pytest.approx(0.05, abs=0.05) and fit.high == pytest.approx(0.95, abs=0.05)
    assert fit.rmse < 0.02
    np.testing.assert_allclose(fit.predict(LOG_STEPS[1:]), _curve(mid_step)[1:], atol=0.05)


def test_logistic_fit_orders_noisy_curves_and_refuses_flat_ones():
    rng = np.random.default_rng(0)
    early = logistic_fit(LOG_STEPS, _curve(100) + rng.normal(0, 0.03, len(LOG_STEPS)))
    late = logistic_fit(LOG_STEPS, _curve(800) + rng.normal(0, 0.03, len(LOG_STEPS)))
    assert early.transition_step < 200 < 500 < late.transition_step
    flat = logistic_fit(LOG_STEPS, 0.3 + rng.normal(0, 0.02, len(LOG_STEPS)))
    assert flat.transition_step is None  # rises < 0.2: no transition to time
    beyond = logistic_fit(LOG_STEPS, _curve(50_000))  # midpoint far after the last step
    assert beyond.transition_step is None
    with pytest.raises(ValueError, match="at least 3 evaluations"):
        logistic_fit(np.array([0, 10, 20]), np.array([0.1, 0.2, 0.3]))


def test_permutation_test_on_known_cases():
    # complete separation of 3 vs 3: 1 of the C(6,3) = 20 splits is as extreme in each direction
    assert permutation_test([1, 2, 3], [10, 11, 12]) == pytest.approx(2 / 20)
    assert permutation_test([1, 2, 3], [10, 11, 12], alternative="less") == pytest.approx(1 / 20)
    assert permutation_test([1, 2, 3], [10, 11, 12], alternative="greater") == pytest.approx(1.0)
    assert permutation_test([5, 5, 5], [5, 5, 5]) == pytest.approx(1.0)  # identical groups
    # 5 vs 5 separated: 2 / C(10, 5) = 2 / 252
    assert permutation_test(range(5), range(10, 15)) == pytest.approx(2 / 252)
    with pytest.raises(ValueError, match="alternative"):
        permutation_test([1], [2], alternative="bigger")


def test_paired_sign_flip_test_on_known_cases():
    # all 3 differences negative: 1 of 2**3 sign patterns is as extreme each way
    assert paired_permutation_test([1, 2, 3], [2, 4, 6]) == pytest.approx(2 / 8)
    assert paired_permutation_test([1, 2, 3], [2, 4, 6], alternative="less") == pytest.approx(1 / 8)
    # differences +1, -1, 0: mean 0, every sign pattern is at least as extreme
    assert paired_permutation_test([2, 1, 5], [1, 2, 5]) == pytest.approx(1.0)


def test_ranges_separate():
    assert ranges_separate([1, 2], [3, 4]) and ranges_separate([5, 6], [1, 2])
    assert not ranges_separate([1, 3], [2, 4]) and not ranges_separate([1, 2], [2, 3])


# ---- effects with intervals ----------------------------------------------------------------------
from tokenized_cot_icl.experiments.statistics import cohens_dz, paired_effect, stratified_effect  # noqa: E402


def test_paired_effect_mean_interval_dz_and_floor():
    a, b = np.array([100, 250, 150, 300, 200, 180]), np.array([500, 600, 550, 700, 650, 400])
    e = paired_effect(a, b)
    d = a - b
    assert e.n == 6 and e.mean == pytest.approx(d.mean())
    assert d.min() <= e.low < e.mean < e.high <= d.max() and e.excludes_zero
    assert e.dz == pytest.approx(d.mean() / d.std(ddof=1)) and e.dz_low <= e.dz <= e.dz_high
    assert e.p == pytest.approx(2 / 64) and e.p_floor == pytest.approx(2 / 64) and e.exact
    assert paired_effect(a, b) == e  # seeded: the same numbers every time
    null = paired_effect([1, 2, 3, 4, 5], [1.5, 1.5, 3.5, 3.5, 5])
    assert null.low < 0 < null.high and not null.excludes_zero and null.p == pytest.approx(1.0)


def test_cohens_dz_edge_cases():
    assert cohens_dz([1.0, 2.0, 3.0]) == pytest.approx(2.0)
    assert cohens_dz([0.6 - 0.3, 0.65 - 0.35, 0.62 - 0.32]) == np.inf  # equal up to rounding: no spread
    assert cohens_dz([0.0, 0.0, 0.0]) == 0.0 and np.isnan(cohens_dz([1.0]))


def test_paired_test_samples_sign_patterns_beyond_sixteen_pairs():
    d = np.arange(1.0, 41.0)
    assert paired_permutation_test(d, np.zeros(40)) == pytest.approx(1 / 10_001)  # the observed pattern only
    e = paired_effect(d, np.zeros(40))
    assert not e.exact and e.p == e.p_floor == pytest.approx(1 / 10_001)


def test_stratified_effect_is_the_two_sample_test_in_one_stratum():
    a, b = [1, 2, 3, 4, 5], [10, 11, 12, 13, 14]
    e = stratified_effect([(a, b)])
    assert e.mean == -9 and e.p == pytest.approx(permutation_test(a, b)) == pytest.approx(2 / 252)
    assert e.high < 0 and e.dz is None and e.n == 10
    pooled = stratified_effect([(a, b), ([0, 1, 2], [0, 1, 2])])
    assert pooled.mean == pytest.approx(-4.5) and pooled.exact and pooled.low < pooled.mean < pooled.high
    with pytest.raises(ValueError, match="both sides"):
        stratified_effect([([1.0], [])])
