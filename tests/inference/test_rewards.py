"""The exact rewards on hand-built completions: a right chain, a right answer after a locally wrong
step (unfaithful), and malformed outputs; in TRL's calling convention (columns as keyword arguments,
``completion_ids`` beside decoded text)."""

import numpy as np
import pytest

from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.data.symbolic import SymbolicDataset
from tokenized_cot_icl.data.tokenizer import build_tokenizer, decode_ids
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import chain_truth
from tokenized_cot_icl.inference.rewards import (
    format_reward,
    mixed_reward,
    outcome_reward,
    process_reward,
    prompt_columns,
    reward_function,
    score_answer,
    step_verdicts,
    symbolic_entry,
)

# Markov DAG: y_2 reads y_1 and y_3 reads y_2, so a wrong first step changes what the second should be.
DATA = dict(vocab_size=40, n_dims=6, n_inputs=3, n_parents=2, chain_length=3, n_examples=2, dag_strategy="markov")


def _args(**changes) -> Args:
    return Args(**{**DATA, "prompt_strategy": "cot", **changes})


def _unfaithful_case(args: Args):
    """A train prompt whose answer does not read y_1, and a wrong y_1 that makes y_2 locally wrong too."""
    gen = ChainGenerator(args)
    for index in range(64):
        truth = chain_truth(gen, "train", index)
        if args.n_inputs in truth.parents[2]:  # the answer reads y_1: look further
            continue
        wrong = (int(truth.chain[0]) + 1) % args.num_ordinary_tokens
        parents = truth.parent_tokens(1, [wrong, None, None])
        if int(gen.step_tokens(np.array([parents]), truth.weights[1][None])[0]) != truth.chain[1]:
            return index, truth, wrong
    raise AssertionError("no prompt of the wanted shape among the first 64")


def _columns(args: Args, index: int, n: int) -> dict:
    cols = [prompt_columns(args, "train", index)] * n
    return {key: [c[key] for c in cols] for key in cols[0]}


def test_rewards_of_right_unfaithful_and_malformed_chains():
    args = _args()
    index, truth, wrong = _unfaithful_case(args)
    y = [int(t) for t in truth.chain]
    completions = [y, [wrong, *y[1:]], y[:2], [y[0], y[1], args.vocab_size + 5]]
    kwargs = _columns(args, index, len(completions))
    assert outcome_reward(completions, **kwargs) == [1.0, 1.0, 0.0, 0.0]
    assert format_reward(completions, **kwargs) == [1.0, 1.0, 0.0, 0.0]
    # unfaithful: y_1 and y_2 locally wrong, the answer right on the model's own y_2 (it reads y_2 only)
    assert process_reward(completions, **kwargs) == pytest.approx([1.0, 1 / 3, 2 / 3, 2 / 3])
    assert process_reward(completions, aggregate="min", **kwargs) == [1.0, 0.0, 0.0, 0.0]
    assert [v.unfaithful for v in step_verdicts(completions, **kwargs)] == [False, True, False, False]
    mix = mixed_reward(outcome=0.5, process=0.5)
    assert mix.__name__ == "mixed_reward"
    assert mix(completions, **kwargs) == pytest.approx([1.0, 0.5 + 0.5 / 3, 1 / 3, 1 / 3])
    assert reward_function("process", "min")(completions, **kwargs) == [1.0, 0.0, 0.0, 0.0]


def test_special_token_format_ids_text_and_trl_completion_ids():
    args = _args(prompt_strategy="cot_special_token", enable_special_tokens=True)
    index, truth, wrong = _unfaithful_case(args)
    s = SpecialTokens.for_vocab(args.vocab_size)
    y = [int(t) for t in truth.chain]
    right = [s.think_start, y[0], y[1], s.think_end, s.answer_start, y[2], s.answer_end, s.eos]
    no_eos = right[:-1]
    markers_out_of_place = [s.answer_start, y[2], s.think_end, s.answer_end, s.eos]
    ids = [right, no_eos, markers_out_of_place]
    kwargs = _columns(args, index, len(ids))
    assert outcome_reward(ids, **kwargs) == [1.0, 0.0, 0.0]
    assert format_reward(ids, **kwargs) == [1.0, 0.0, 0.0]
    tokenizer = build_tokenizer(args)
    texts = [decode_ids(tokenizer, c) for c in ids]
    assert outcome_reward(texts, **kwargs) == [1.0, 0.0, 0.0]  # text is read back with the tokenizer
    # TRL passes text decoded without <eos> plus the ids: the ids are what is scored
    skipped = tokenizer.batch_decode(ids, skip_special_tokens=True)
    assert outcome_reward(skipped, completion_ids=ids, **kwargs) == [1.0, 0.0, 0.0]


def test_missing_column_and_bad_aggregate_are_named():
    args = _args()
    with pytest.raises(KeyError, match="'index'"):
        outcome_reward([[1, 2, 3]], split=["train"], args=[prompt_columns(args, "train", 0)["args"]])
    with pytest.raises(ValueError, match="aggregate"):
        process_reward([[1, 2, 3]], aggregate="max", **_columns(args, 0, 1))
    with pytest.raises(ValueError, match="reward must be one of"):
        reward_function("answer")


def test_score_answer_in_reasoning_gym_convention():
    entry = symbolic_entry(SymbolicDataset(SymbolicArgs(prompt_format="plain", n_examples=2))[3])
    assert set(entry) == {"question", "answer", "metadata"} and entry["question"].endswith("Answer:\n")
    assert score_answer(entry["answer"], entry) == 1.0
    assert score_answer(f"<think>\nStep 1: x\n</think>\n\\boxed{{{entry['answer']}}}", entry) == 1.0
    assert score_answer(entry["answer"] + "x", entry) == 0.0
    assert score_answer(None, entry) == 0.0
