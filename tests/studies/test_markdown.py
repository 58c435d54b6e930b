"""Markdown is rendered from given numbers: verdict sentences, table rows, spreads."""

from __future__ import annotations

import numpy as np

from studies.markdown import cell, conclusion, fmt_steps, subsample
from tokenized_cot_icl.experiments.statistics import Comparison


def _comparison(category: str, cot_crossed=(100, None)) -> Comparison:
    return Comparison(
        last_step=300,
        n_seeds=2,
        majority_share=0.25,
        final_cot=np.array([0.9, 0.6]),
        final_std=np.array([0.5, 0.4]),
        crossings_cot={0.5: list(cot_crossed), 0.8: [200, None]},
        crossings_std={0.5: [None, None], 0.8: [None, None]},
        auc_cot=np.array([0.7, 0.5]),
        auc_std=np.array([0.3, 0.2]),
        category=category,
    )


def test_conclusion_states_the_numbers():
    body, verdict = conclusion(_comparison("agrees"))
    assert body[0].startswith("- Final answer accuracy at step 300: cot 0.750 (seeds 0.90, 0.60)")
    assert "cot in 1/2 seeds (mean step 200), standard in 0/2 seeds (mean step 300, seeds that never" in body[1]
    assert "every cot seed has a larger area" in verdict and verdict.endswith(".")
    assert "2 seeds of one small configuration" in body[-1]


def test_overlap_verdict_names_unreached_seeds():
    _, verdict = conclusion(_comparison("overlap"))
    assert "overlap" in verdict and "reached by cot in 1/2 seeds, standard in 0/2" in verdict


def test_no_comparison_without_both_strategies():
    body, verdict = conclusion(None)
    assert body == [verdict] and "does not hold both" in verdict


def test_table_helpers():
    assert cell(np.array([0.5, 1.0])) == "0.750 ± 0.250 (0.50–1.00)"
    assert fmt_steps([100, None]) == "100, never"
    picks = subsample(list(range(100)), n=12)
    assert picks[-1] == 99 and len(picks) <= 13 and picks == sorted(picks)
    assert subsample([1, 2, 3]) == [0, 1, 2]
