"""Configuration of the symbolic (word) tasks (SPEC section 8): :class:`SymbolicArgs`.

A separate frozen dataclass, not a section of ``Args``: the word tasks share the DAG strategies,
the fixed-DAG ablation, the tuple-valued N/M/C/K and the CoT recipes with the token tasks, but
have no vocabulary, embedding, token processors or model to train. ``to_dict``/``from_dict``
round-trip through JSON (tuples intact) and every field is checked at construction, naming the
field and what is allowed. Task cards of this class live in ``task_cards/symbolic/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

from tokenized_cot_icl.foundation.config import IntOrChoices, JsonConfig, ShapeChoices
from tokenized_cot_icl.foundation.registries import DAG_STRATEGIES, SYMBOLIC_FORMATS
from tokenized_cot_icl.foundation.types import coerce_fields
from tokenized_cot_icl.foundation.validation import validate_recipe

__all__ = ["SYMBOLIC_CARD_DIR", "SymbolicArgs", "validate_symbolic"]

SYMBOLIC_CARD_DIR = "symbolic"  # task_cards/symbolic/


@dataclass(frozen=True)
class SymbolicArgs(JsonConfig):
    """Word tasks: N input words of ``word_length`` letters, chain words by the SPEC's word rule."""

    seed: int = 42
    # Shapes (SPEC section 2): an int, or a tuple each prompt draws uniformly from (M capped at N).
    n_inputs: IntOrChoices = 4
    n_parents: IntOrChoices = 2
    chain_length: IntOrChoices = 3
    n_examples: IntOrChoices = 4
    # The word rule: chain word = second halves of its parents (ascending), letters shifted.
    word_length: int = 8
    char_offset: int = 1
    dag_strategy: str = "random"
    ablation_fixed_dag: bool = False
    # CoT form of each example: with the recipe's probability at the prompt's index when a recipe
    # is given, else always (enable_cot=True) or never (False).
    enable_cot: bool = True
    cot_example_prob_recipe_info: Optional[dict] = field(default=None, hash=False)
    # How prompts become text: "chat" (a tokenizer's chat template) or "plain" (base models).
    prompt_format: str = "chat"
    n_tasks: int = 10000  # prompts in the train split
    n_eval_tasks: int = 1000  # prompts in the eval split

    def __post_init__(self) -> None:
        coerce_fields(self)  # types from the annotations, as for Args (foundation.types)
        validate_symbolic(self)

    choices = ShapeChoices.choices
    max_chain_length = ShapeChoices.max_chain_length

    def n_prompts(self, split: str) -> int:
        return self.n_tasks if split == "train" else self.n_eval_tasks

    def replace(self, **changes: Any) -> SymbolicArgs:
        return dataclasses.replace(self, **changes)

    def data_fingerprint(self) -> dict[str, Any]:
        """Every field: each one shapes the items (split sizes too, through the recipe's i / n)."""
        return self.to_dict()


def _int_at_least(args: SymbolicArgs, name: str, low: int) -> None:
    value = getattr(args, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}")


def validate_symbolic(args: SymbolicArgs) -> None:
    DAG_STRATEGIES.validate(args.dag_strategy, field="dag_strategy")
    SYMBOLIC_FORMATS.validate(args.prompt_format, field="prompt_format")
    _int_at_least(args, "word_length", 1)
    _int_at_least(args, "n_tasks", 1)
    _int_at_least(args, "n_eval_tasks", 1)
    _int_at_least(args, "seed", 0)
    for name in ("n_inputs", "n_parents", "chain_length", "n_examples"):
        if min(args.choices(name)) <= 0:
            raise ValueError(f"{name} must be positive (an int or a list of ints); got {getattr(args, name)!r}")
    if isinstance(args.char_offset, bool) or not isinstance(args.char_offset, int):
        raise ValueError(f"char_offset must be an int (letters shift modulo 26); got {args.char_offset!r}")
    for name in ("enable_cot", "ablation_fixed_dag"):
        if not isinstance(getattr(args, name), bool):
            raise ValueError(f"{name} must be true or false; got {getattr(args, name)!r}")
    if isinstance(args.n_inputs, int) and isinstance(args.n_parents, int) and args.n_parents > args.n_inputs:
        raise ValueError(
            f"n_parents ({args.n_parents}) must be <= n_inputs ({args.n_inputs}): "
            "a chain word draws its parents without replacement"
        )
    recipe = args.cot_example_prob_recipe_info
    if recipe is not None:
        validate_recipe(recipe)
        if not args.enable_cot:
            raise ValueError(
                "enable_cot=False contradicts cot_example_prob_recipe_info (the recipe sets each example's "
                "CoT probability); drop one of them"
            )
