import math

import pytest

from tokenized_cot_icl.prompts.recipes import RECIPES


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0, 2.0])
def test_power_law_formula(alpha):
    info = {"type": "power_law", "alpha": alpha, "scale": 0.8, "initial_prob": 0.1, "final_prob": 0.7}
    for i in (0, 10, 50, 99):
        expected = min(0.8 * (i / 100) ** alpha + 0.1, 0.7)
        assert math.isclose(RECIPES.get("power_law")(info, i, 100), expected)


def test_power_law_mean_is_one_over_alpha_plus_one():
    for alpha in (0.5, 1.0, 2.0):
        info = {"type": "power_law", "alpha": alpha}
        mean = sum(RECIPES.get("power_law")(info, i, 10000) for i in range(10000)) / 10000
        assert abs(mean - 1 / (alpha + 1)) < 1e-3


def test_alpha_inf_never_shows_cot_and_constant():
    assert RECIPES.get("power_law")({"type": "power_law", "alpha": float("inf")}, 9999, 10000) == 0.0
    assert RECIPES.get("constant")({"type": "constant", "prob": 0.3}, 5, 10) == 0.3
