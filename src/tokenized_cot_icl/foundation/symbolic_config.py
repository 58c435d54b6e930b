"""Configuration of the symbolic (word) tasks (SPEC section 8): :class:`SymbolicArgs`.

A separate frozen dataclass, not a section of ``Args``: the word tasks share the DAG strategies,
the fixed-DAG ablation, the tuple-valued N/M/C/K and the CoT recipes with the token tasks, but
have no vocabulary, embedding, token processors or model to train. ``to_dict``/``from_dict``
round-trip through JSON (tuples intact) and every field is checked at construction, naming the
field and what is allowed. Task cards of this class live in ``task_cards/symbolic/``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from tokenized_cot_icl.foundation.config import IntOrChoices, JsonConfig, ShapeChoices
from tokenized_cot_icl.foundation.field_docs import documented
from tokenized_cot_icl.foundation.registries import DAG_STRATEGIES, RECIPES, SYMBOLIC_FORMATS
from tokenized_cot_icl.foundation.sizes import check_sizes, symbolic_estimates
from tokenized_cot_icl.foundation.types import coerce_fields
from tokenized_cot_icl.foundation.validation import validate_recipe

__all__ = ["SYMBOLIC_CARD_DIR", "SymbolicArgs", "stated_rules", "validate_symbolic"]

SYMBOLIC_CARD_DIR = "symbolic"  # task_cards/symbolic/


@dataclass(frozen=True)
class SymbolicArgs(JsonConfig):
    """Word tasks: N input words of ``word_length`` letters, chain words by the SPEC's word rule."""

    # Each field's meaning and group live beside it (foundation.field_docs), as in Args.
    seed: int = documented(42, "data", "the seed of the words, DAGs and prompts")
    # Shapes (SPEC section 2): an int, or a tuple each prompt draws uniformly from (M capped at N).
    n_inputs: IntOrChoices = documented(4, "data", "N: input words per example (a tuple: each prompt draws one)")
    n_parents: IntOrChoices = documented(2, "data", "M: parent words of each chain word (int or tuple)")
    chain_length: IntOrChoices = documented(
        3, "data", "C: chain words per example, the last one the answer (int or tuple)"
    )
    n_examples: IntOrChoices = documented(4, "data", "K: examples per prompt, the last one the query (int or tuple)")
    # The word rule: chain word = second halves of its parents (ascending), letters shifted.
    word_length: int = documented(8, "data", "letters per word")
    char_offset: int = documented(1, "data", "letter shift of the word rule (modulo 26)")
    dag_strategy: str = documented(
        "random", "data", "how each chain word's parents are drawn (the DAG G)", allowed=DAG_STRATEGIES
    )
    ablation_fixed_dag: bool = documented(False, "data", "one DAG, drawn from seed, for every prompt")
    # CoT form of each example: with the recipe's probability at the prompt's index when a recipe
    # is given, else always (enable_cot=True) or never (False).
    enable_cot: bool = documented(True, "prompts", "examples show their chain (without a recipe: all or none)")
    cot_example_prob_recipe_info: Optional[dict] = documented(
        None,
        "prompts",
        "CoT probability per example, e.g. {'type': 'power_law', 'alpha': 1.0}",
        allowed=RECIPES,
        hash=False,
    )
    # How prompts become text: "chat" (a tokenizer's chat template) or "plain" (base models).
    prompt_format: str = documented(
        "chat", "prompts", "chat: a tokenizer's chat template; plain: text for base models", allowed=SYMBOLIC_FORMATS
    )
    n_tasks: int = documented(10000, "data", "prompts in the train split")
    n_eval_tasks: int = documented(1000, "evaluation", "prompts in the eval split")

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


_SHAPE_FIELDS = ("n_inputs", "n_parents", "chain_length", "n_examples")
_AT_LEAST = {"word_length": 1, "n_tasks": 1, "n_eval_tasks": 1, "seed": 0}


def stated_rules() -> dict[str, str]:
    """The value rules :func:`validate_symbolic` checks, in words, per field (docs/ARGS.md)."""
    rules = {name: f">= {low}" for name, low in _AT_LEAST.items()}
    rules |= {name: "> 0 (an int, or a list of them)" for name in _SHAPE_FIELDS}
    rules["n_parents"] += "; <= n_inputs when both are ints (tuple choices cap M at N)"
    rules["word_length"] += "; one prompt's letters and text fit in the machine's memory"
    rules["char_offset"] = "any int (letters shift modulo 26)"
    rules["cot_example_prob_recipe_info"] = "a dict whose type is one of these, or None; needs enable_cot=True"
    return rules


def _int_at_least(args: SymbolicArgs, name: str, low: int) -> None:
    value = getattr(args, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name} must be an int >= {low}; got {value!r}")


def validate_symbolic(args: SymbolicArgs) -> None:
    DAG_STRATEGIES.validate(args.dag_strategy, field="dag_strategy")
    SYMBOLIC_FORMATS.validate(args.prompt_format, field="prompt_format")
    for name, low in _AT_LEAST.items():
        _int_at_least(args, name, low)
    for name in _SHAPE_FIELDS:
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
    check_sizes(symbolic_estimates(args))
