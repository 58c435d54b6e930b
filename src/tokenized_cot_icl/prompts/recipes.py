"""CoT recipes: the probability that an example of prompt ``i`` is shown with its chain."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from tokenized_cot_icl.core.registry import Registry

Recipe = Callable[[Mapping[str, Any], int, int], float]
RECIPES: Registry[Recipe] = Registry("cot recipe type")

# name -> (required keys, optional keys with defaults)
RECIPE_PARAMS: dict[str, tuple[tuple[str, ...], dict[str, float]]] = {
    "power_law": (("alpha",), {"scale": 1.0, "initial_prob": 0.0, "final_prob": 1.0}),
    "constant": (("prob",), {}),
}
PROBABILITY_KEYS = ("initial_prob", "final_prob", "prob")


@RECIPES.register("power_law")
def power_law(info: Mapping[str, Any], index: int, n_prompts: int) -> float:
    """``min(scale * (i / n)^alpha + initial_prob, final_prob)``; alpha may be ``inf``."""
    alpha = float(info["alpha"])
    x = index / max(n_prompts, 1)
    if math.isinf(alpha):
        powered = 0.0 if x < 1.0 else 1.0
    else:
        powered = x**alpha
    p = info.get("scale", 1.0) * powered + info.get("initial_prob", 0.0)
    return float(min(p, info.get("final_prob", 1.0)))


@RECIPES.register("constant")
def constant(info: Mapping[str, Any], index: int, n_prompts: int) -> float:
    return float(info["prob"])


def validate_recipe(info: Mapping[str, Any], field: str = "cot_example_prob_recipe_info") -> None:
    if not isinstance(info, Mapping) or "type" not in info:
        raise ValueError(f"{field} must be a mapping with a 'type' key, one of {RECIPES.names()}; got {info!r}")
    RECIPES.validate(info["type"], field=f"{field}['type']")
    required, optional = RECIPE_PARAMS[info["type"]]
    allowed = {"type", *required, *optional}
    for key in required:
        if key not in info:
            raise ValueError(f"{field}: recipe {info['type']!r} needs {key!r} (keys: {sorted(allowed)})")
    for key in info:
        if key not in allowed:
            raise ValueError(f"{field}: unknown key {key!r} for recipe {info['type']!r}; allowed: {sorted(allowed)}")
    for key in PROBABILITY_KEYS:
        if key in info and not 0.0 <= float(info[key]) <= 1.0:
            raise ValueError(f"{field}[{key!r}] must be a probability in [0, 1]; got {info[key]!r}")
    if "alpha" in info and not float(info["alpha"]) >= 0.0:
        raise ValueError(f"{field}['alpha'] must be >= 0 (inf allowed); got {info['alpha']!r}")
    if "scale" in info and not float(info["scale"]) >= 0.0:
        raise ValueError(f"{field}['scale'] must be >= 0; got {info['scale']!r}")
