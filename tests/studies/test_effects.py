"""Study 1's paired effects, verdicts and matched-cell contrasts on hand-made runs (no training)."""

from __future__ import annotations

import pytest

from studies.effects import (
    cell_effects,
    diversity_contrasts,
    locality_contrasts,
    matched,
    transition_step,
    transition_verdict,
    verdict,
)
from tests.studies.synthetic import cell, run

FAST = (750, 1000, 1000, 1250, 750, 1000)
SLOW = (2000, 2250, 1750, 2500, 2250, 2000)


def test_transition_step_is_censored_at_the_budget():
    assert transition_step(run("cot", 0, 1250)) == 1250.0
    assert transition_step(run("cot", 0, None)) == 3000.0  # never: the last evaluated step


def test_cell_effects_pair_runs_and_count_who_reached():
    e = cell_effects(cell("c", (2000, None, None), (1000, 1500, None)))
    assert (e.n_pairs, e.reached_standard, e.reached_cot, e.budget) == (3, 1, 2, 3000)
    assert e.differences().tolist() == [-1000.0, -1500.0, 0.0]  # a never/never pair differs by 0
    assert e.transition.mean == pytest.approx(-2500 / 3) and e.mean_standard == pytest.approx(8000 / 3)
    assert e.midpoint.n == 1  # only the pair where both curves rose has two midpoints
    assert e.final.mean > 0 and e.cot_per_step == pytest.approx([0.95, 0.95])
    # mean skill after step 0 (12 evaluations): skill 6/7 from the crossing on; cot leads by 4 and 7 evaluations
    assert e.area.mean == pytest.approx((6 / 7) * (4 + 7 + 0) / 12 / 3)


@pytest.mark.parametrize(
    ("std", "cot", "word"),
    [
        (SLOW, FAST, "supported"),
        (FAST, SLOW, "contradicted"),
        (FAST, (1000, 750, 1000, 1000, 1000, 1000), "inconclusive"),
        ((None,) * 6, (None,) * 6, "not tested"),
    ],
)
def test_cell_verdicts(std, cot, word):
    text = transition_verdict(cell_effects(cell("c", std, cot)))
    assert text.startswith(word)
    if word == "inconclusive":
        assert "CI spans 0" in text
    if word == "not tested":
        assert "no run reached skill 0.5 in 3000 steps" in text


def test_five_pairs_cannot_reach_five_percent():
    e = cell_effects(cell("c", SLOW[:5], FAST[:5]))
    assert e.transition.p == pytest.approx(2 / 32) and e.transition.excludes_zero
    assert verdict(e.transition, -1) == (
        "inconclusive (p=0.062; the smallest p these 5 pairs can reach is 0.062; 95% CI excludes 0)"
    )
    assert verdict(None, -1) == "not tested"


def _design():
    return [
        cell("m4", SLOW, FAST),
        cell("i4", FAST, FAST, dag_strategy="inputs"),
        cell("m16", (None,) * 6, SLOW, num_unique_H=16),
        cell("i16", SLOW, SLOW, dag_strategy="inputs", num_unique_H=16),
        cell("m4c3", SLOW, FAST, chain_length=3),  # no inputs cell with C=3: unmatched for locality
        cell("fresh", (None,) * 6, (None,) * 6, ablation_fixed_H=False, num_unique_H=-1),
    ]


def test_matched_cells_differ_only_in_the_varied_fields():
    cells = _design()
    assert [[c.cell for c in g] for g in matched(cells, ("dag_strategy",))] == [["m4", "i4"], ["m16", "i16"]]
    groups = matched(cells, ("ablation_fixed_H", "num_unique_H"))
    assert [[c.cell for c in g] for g in groups] == [["m4", "m16", "fresh"], ["i4", "i16"]]


def test_locality_contrast_is_markov_minus_inputs_of_the_paired_effect():
    contrasts = locality_contrasts([cell_effects(c) for c in _design()])
    assert [c.label for c in contrasts] == ["H pool of 4, C=2", "H pool of 16, C=2"]
    first = contrasts[0]
    assert first.a.tolist() == cell_effects(_design()[0]).differences().tolist()
    assert first.effect.mean == pytest.approx(first.a.mean() - first.b.mean()) and first.effect.mean < 0
    assert verdict(first.effect, -1).startswith("supported")  # 6 vs 6 seeds: p = 2 / C(12, 6)


def test_diversity_contrasts_compare_neighbouring_levels():
    effects = [cell_effects(c) for c in _design()]
    standard = diversity_contrasts(effects, "standard")
    assert [(c.second.cell.cell, c.first.cell.cell) for c in standard] == [
        ("m4", "m16"),
        ("m16", "fresh"),
        ("i4", "i16"),
    ]
    assert standard[0].effect.mean > 0  # more diverse H crosses later (never: counted at the budget)
    speedup = diversity_contrasts(effects, "speed-up")
    assert (speedup[0].first.cell.cell, speedup[0].second.cell.cell) == ("m4", "m16")


def test_cells_without_any_transition_are_not_contrasted():
    effects = [cell_effects(c) for c in (cell("m16", (None,) * 3, (None,) * 3, num_unique_H=16),
                                         cell("fresh", (None,) * 3, (None,) * 3, ablation_fixed_H=False, num_unique_H=-1))]  # fmt: skip
    assert diversity_contrasts(effects, "standard") == []
    null = cell_effects(cell("c", FAST, FAST)).transition
    assert verdict(null, -1) == "inconclusive (p=1.000, 95% CI spans 0)"  # all pairs tie: no floor to name
