"""Rules between Args fields, checked at construction with messages naming the fields."""

from __future__ import annotations

import pytest

from tests.training.helpers import TINY_BASE
from tokenized_cot_icl.core.models import create_model
from tokenized_cot_icl.data.dataset import EvalTokenizedDataset, TokenizedDataset
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.task_cards import TaskCardError, load_task_card
from tokenized_cot_icl.foundation.validation import positions_needed
from tokenized_cot_icl.inference.options import EvalOptions, max_new_tokens

HYBRID = dict(
    prompt_strategy="hybrid_special_token",
    enable_special_tokens=True,
    cot_example_prob_recipe_info={"type": "constant", "prob": 0.5},
)


@pytest.mark.parametrize("changes, fragments", [
    # geometry: head_dim 3 failed deep in the model naming no field; head_dim 1 trained
    (dict(hidden_size=12, num_attention_heads=4, num_key_value_heads=4), ["head_dim", "12 / 4 = 3", "even"]),
    (dict(hidden_size=4, num_attention_heads=4, num_key_value_heads=4), ["head_dim", "= 1", ">= 8"]),
    (dict(hidden_size=18, num_attention_heads=2, num_key_value_heads=2), ["head_dim", "= 9", "even"]),
    (dict(hidden_size=24, num_attention_heads=4, num_key_value_heads=4), ["head_dim", "= 6", ">= 8"]),
    (dict(hidden_size=64, num_attention_heads=3), ["hidden_size (64)", "num_attention_heads (3)"]),
    (dict(num_attention_heads=2, num_key_value_heads=3), ["num_key_value_heads (3)", "divisible"]),
    # positions: 48-token prompts with 32 positions trained, then evaluation refused the run
    (dict(n_examples=8, max_position_embeddings=32), ["max_position_embeddings (32)", ">= 50", "n_examples=8"]),
    (dict(prompt_strategy="cot_special_token", enable_special_tokens=True, max_pred_tokens=2000),
     ["max_position_embeddings (1024)", "max_pred_tokens"]),
    # M and N: a tuple choice of M above a choice of N was silently capped
    (dict(n_inputs=(2, 3), n_parents=4), ["n_parents (4)", "n_inputs ((2, 3))", "cap_parents_to_inputs"]),
    (dict(n_inputs=(2, 6), n_parents=(1, 3)), ["n_parents ((1, 3))", "every pair of choices"]),
    (dict(n_inputs=2, n_parents=3), ["n_parents (3)", "without replacement"]),
    # a recipe is only read by the hybrid strategy: with "cot" it was silently ignored
    (dict(cot_example_prob_recipe_info={"type": "power_law", "alpha": 1.0}), ["cot_example_prob_recipe_info",
                                                                             "hybrid_special_token", "ignored"]),
    (dict(model_type="gpt9"), ["model_type", "gpt9", "llama"]),
    (dict(seed=2**63), ["seed", "2**63 - 1"]),
    (dict(output_base_dir=""), ["output_base_dir", "non-empty"]),
    (dict(run_name=".."), ["run_name", "one directory name"]),
    (dict(rope_scaling={"rope_type": "llama3", "factor": 8.0}), ["rope_scaling", "low_freq_factor", "missing"]),
    (dict(rope_scaling={"rope_type": "linear", "factor": 0.5}), ["rope_scaling['factor']", ">= 1"]),
])  # fmt: skip
def test_inconsistent_fields_are_refused_by_name(changes, fragments):
    with pytest.raises(ValueError) as err:
        Args(**{**TINY_BASE, **changes})
    for fragment in fragments:
        assert fragment in str(err.value), (fragment, str(err.value))


def test_capping_is_accepted_when_asked_and_data_respects_it():
    args = Args(**{**TINY_BASE, "n_inputs": (2, 3), "n_parents": 4, "cap_parents_to_inputs": True})
    dataset = TokenizedDataset(args)
    seen = set()
    for i in range(40):
        item = dataset[i]
        n_inputs = len(item["input_ids"]) // 4 - 2  # cot: 4 examples of N inputs and C=2 chain tokens
        assert item["adj_list"].shape[1] == min(4, n_inputs)
        seen.add(n_inputs)
    assert seen == {2, 3}


@pytest.mark.parametrize("strategy", [
    dict(prompt_strategy="standard"), dict(prompt_strategy="cot"),
    dict(prompt_strategy="standard_special_token", enable_special_tokens=True),
    dict(prompt_strategy="cot_special_token", enable_special_tokens=True), HYBRID,
], ids=lambda s: s["prompt_strategy"])  # fmt: skip
def test_positions_rule_is_exact_for_training_and_evaluation(strategy):
    """At exactly the positions the rule asks for, every prompt fits and the evaluator's own
    engine-length check (inference) passes: nothing the rule lets through is refused later."""
    shape = dict(n_inputs=(3, 5), n_parents=2, chain_length=(2, 4), n_examples=(3, 6), vocab_size=64)
    loose = Args(**{**TINY_BASE, **shape, **strategy})
    need = positions_needed(loose)
    args = loose.replace(max_position_embeddings=need)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        loose.replace(max_position_embeddings=need - 1)
    train, evals = TokenizedDataset(args), EvalTokenizedDataset(args, n_tasks=60, progress=False)
    longest = max(len(train[i]["input_ids"]) for i in range(200))
    longest_cut = max(len(evals[i]["cot_eval"]["input_ids"]) for i in range(60))
    assert longest <= need
    assert longest_cut + max_new_tokens(args, EvalOptions()) + 2 <= need  # inference.target.max_model_len


def test_a_valid_tiny_config_builds_a_model_with_the_checked_geometry():
    args = Args(**{**TINY_BASE, "hidden_size": 16, "num_attention_heads": 2, "num_key_value_heads": 1})
    model = create_model(args)
    assert model.config.head_dim == 8


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", 'description = "no tables"\n'])
def test_an_empty_card_is_an_error_not_the_default_card(tmp_path, text):
    card = tmp_path / "empty.toml"
    card.write_text(text)
    with pytest.raises(TaskCardError, match=rf"task card '{card}' is empty: it needs a \[base\] table"):
        load_task_card(card)
    card.write_text("[base]\n")  # an explicit empty [base]: every field at its default, on purpose
    assert load_task_card(card) == {0: Args()}
