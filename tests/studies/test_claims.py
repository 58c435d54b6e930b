"""Claim verdicts from hand-made cells and recipes: pooled transition, locality, diversity, recipes."""

from __future__ import annotations

from studies.claims import (
    all_claims,
    cot_speeds_transition,
    cot_speeds_transition_by_dag,
    diversity_helps,
    hidden_cost,
    locality_matters,
    recipe_fixes_it,
    scope,
)
from tests.studies.synthetic import cell, recipe

FAST = (750, 1000, 1000, 1250, 750)
SLOW = (2000, 2250, 1750, 2500, 2250)


def test_transition_claim_pools_the_in_context_cells():
    cells = [cell("a", SLOW, FAST), cell("b", SLOW, FAST, chain_length=3), cell("fixed", FAST, SLOW, num_unique_H=-1)]
    claim = cot_speeds_transition(cells)
    assert claim.verdict.startswith("supported") and "H inferred in context" in claim.claim
    assert "pooled over 10 pairs" in claim.measured and "inconclusive in 2" in claim.measured  # 5 pairs: p >= 0.0625
    assert claim.measured.endswith("final skill cot − std 0.00 [0.00, 0.00], d_z 0.00 [0.00, 0.00], p = 1.000")
    assert "`a`, `b`), 5 seed pairs" in claim.distance and "fixed" not in claim.distance
    reversed_ = cot_speeds_transition([cell("a", FAST, SLOW), cell("b", FAST, SLOW, chain_length=3)])
    assert reversed_.verdict.startswith("contradicted")
    assert cot_speeds_transition([cell("n", (None,) * 3, (None,) * 3)]).verdict == "not tested"


def test_transition_claim_per_dag_strategy_gets_its_own_verdict():
    cells = [
        cell("m2", SLOW, FAST),
        cell("m3", SLOW, FAST, chain_length=3),
        cell("i2", FAST, SLOW, dag_strategy="inputs"),
        cell("i3", FAST, SLOW, chain_length=3, dag_strategy="inputs"),
    ]
    markov, inputs = cot_speeds_transition_by_dag(cells)
    assert "reads the chain" in markov.claim and markov.verdict.startswith("supported")
    assert "reads only the inputs" in inputs.claim and inputs.verdict.startswith("contradicted")
    assert "DAG markov: cot − std transition step pooled over 10 pairs mean difference −1200" in markov.measured
    assert "`m2`, `m3`" in markov.distance and "i2" not in markov.distance
    assert cot_speeds_transition(cells).verdict.startswith("inconclusive")  # the two strata cancel when pooled
    assert cot_speeds_transition_by_dag(cells[:2]) == []  # one DAG strategy: the pooled claim says it all


def test_locality_claim_needs_matched_cells():
    cells = [cell("m", SLOW, FAST), cell("i", FAST, FAST, dag_strategy="inputs")]
    claim = locality_matters(cells)
    assert claim.verdict.startswith("supported") and "markov −1200, inputs 0" in claim.measured
    null = locality_matters([cell("m", SLOW, FAST), cell("i", SLOW, FAST, dag_strategy="inputs")])
    assert null.verdict.startswith("inconclusive") and "CI spans 0" in null.verdict
    assert locality_matters([cell("m", SLOW, FAST)]).verdict == "not tested"
    reversed_ = locality_matters([cell("m", FAST, FAST), cell("i", SLOW, FAST, dag_strategy="inputs")])
    assert reversed_.verdict.startswith("contradicted")  # CoT helps only where the answer reads the inputs


def test_diversity_claim_from_matched_pool_sizes():
    cells = [cell("p4", FAST, FAST), cell("p16", SLOW, SLOW, num_unique_H=16)]
    claim = diversity_helps(cells)
    assert claim.verdict.startswith("supported") and "standard, H pool of 4 vs pool of 16" in claim.measured
    assert diversity_helps([cell("p4", SLOW, SLOW), cell("p16", FAST, FAST, num_unique_H=16)]).verdict.startswith(
        "contradicted"
    )


def _recipes(n: int, gain: float):
    seeds = range(n)
    base = [0.30 + 0.01 * s for s in seeds]
    return [
        recipe("alpha0", 1.0, seeds, {"1/none": [0.9] * n, "0/none": base, "0/think": base}),
        recipe(
            "alpha1",
            0.5,
            seeds,
            {"0/none": [b + gain + 0.01 * (s % 2) for s, b in enumerate(base)], "0/think": base[::-1]},
        ),  # fmt: skip
    ]


def test_recipe_claims_are_paired_by_seed_with_the_p_floor_stated():
    free, think = recipe_fixes_it(_recipes(6, 0.2))
    assert free.verdict.startswith("supported") and "over 6 seeds" in free.measured
    assert think.verdict.startswith("inconclusive") and "forced think" in think.claim
    four = recipe_fixes_it(_recipes(4, 0.2))[0]
    assert four.verdict.startswith("inconclusive (p=0.125; the smallest p these 4 pairs can reach is 0.125")
    worse = recipe_fixes_it(_recipes(6, -0.2))[0]
    assert worse.verdict.startswith("contradicted")
    shifted = _recipes(6, 0.2)
    shifted[1].seeds = [2, 3, 4, 5, 6, 7]  # only seeds 2..5 are shared with all-CoT
    assert "over 4 seeds" in recipe_fixes_it(shifted)[0].measured


def test_hidden_cost_and_the_claim_list():
    recipes = _recipes(6, 0.2)
    assert hidden_cost(recipes).verdict.startswith("supported")
    assert hidden_cost(recipes[1:]).verdict == "not tested"
    claims = all_claims([cell("a", SLOW, FAST)], recipes)
    assert [c.verdict.split(" ")[0] for c in claims][:4] == ["inconclusive", "not", "not", "not"]
    assert len(claims) == 4 + 1 + 2 and scope([]) == "no cell trained"
