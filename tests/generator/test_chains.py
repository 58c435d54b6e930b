"""The fast, batched generator must produce exactly the tokens of the naive reference; the batch
path's chain tokens (pruned float32 readout, vectorised DAGs and seeding) equal the float64
full-vocabulary rule on many prompts."""

import itertools

import numpy as np
import pytest

from tests.generator.reference import reference_item
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.core.data import EvalTokenizedDataset, TokenizedDataset
from tokenized_cot_icl.generator.chains import ChainGenerator

STRATEGIES = [
    dict(prompt_strategy="standard"),
    dict(prompt_strategy="cot"),
    dict(prompt_strategy="standard_special_token", enable_special_tokens=True),
    dict(prompt_strategy="cot_special_token", enable_special_tokens=True),
    dict(
        prompt_strategy="hybrid_special_token",
        enable_special_tokens=True,
        cot_example_prob_recipe_info={"type": "power_law", "alpha": 0.5, "scale": 0.9, "initial_prob": 0.05},
    ),
]
GENERATOR_VARIANTS = [
    dict(activation=act, H_num_layers=layers)
    for act, layers in itertools.product(["identity", "relu", "leaky_relu", "silu"], [1, 2, 3])
] + [
    dict(ablation_fixed_H=True),
    dict(ablation_fixed_H=True, num_unique_H=3, H_num_layers=2),
    dict(ablation_fixed_dag=True),
    dict(dag_strategy="markov", activation="silu"),
    dict(dag_strategy="inputs"),
    dict(dag_strategy="inputs", ablation_fixed_dag=True),
    # M above some N: the generator caps M at N per prompt (opted into)
    dict(n_inputs=(3, 5, 6), n_parents=(2, 4), chain_length=(1, 3, 4), n_examples=(2, 5), cap_parents_to_inputs=True),
    dict(n_inputs=(3, 5), n_parents=5, ablation_fixed_dag=True, ablation_fixed_H=True, num_unique_H=2)
    | {"cap_parents_to_inputs": True},
    dict(data_initializer_range=0.3, n_dims=4, vocab_size=40),
]


def _base(**overrides):
    kwargs = dict(vocab_size=96, n_dims=6, n_inputs=4, n_parents=3, chain_length=3, n_examples=5, n_tasks=50)
    kwargs.update(n_eval_tasks=20, seed=7)
    kwargs.update(overrides)
    return Args(**kwargs)


def _assert_matches(item, ref):
    assert item["input_ids"].tolist() == ref["input_ids"]
    assert item["labels"].tolist() == ref["labels"]
    assert item["adj_list"].tolist() == ref["adj_list"]
    assert item["cot_eval"]["input_ids"].tolist() == ref["input_ids"][: ref["cut"]]
    assert item["cot_eval"]["last_example_cot"].tolist() == ref["input_ids"][ref["cut"] :]
    assert item["num_cot_examples"] == ref["num_cot_examples"]
    assert item["num_standard_examples"] == ref["num_standard_examples"]


@pytest.mark.parametrize("variant", GENERATOR_VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s["prompt_strategy"])
def test_fast_path_matches_naive_reference(strategy, variant):
    args = _base(**strategy, **variant)
    dataset = TokenizedDataset(args)
    indices = [0, 1, 7, 49]
    batched = dataset.__getitems__(indices)
    for index, from_batch in zip(indices, batched):
        ref = reference_item(args, "train", index)
        _assert_matches(dataset[index], ref)
        _assert_matches(from_batch, ref)


@pytest.mark.parametrize("strategy", STRATEGIES[1::2], ids=lambda s: s["prompt_strategy"])
def test_eval_split_matches_reference_and_materialised_set(strategy):
    args = _base(**strategy, n_inputs=(3, 4), chain_length=(2, 3))
    materialised = EvalTokenizedDataset(args, progress=False)
    for index in range(len(materialised)):
        ref = reference_item(args, "eval", index)
        _assert_matches(materialised[index], ref)
        assert materialised.chains(index).tolist() == ref["chains"]


def test_larger_vocab_matches_reference():
    args = Args(vocab_size=4096, n_dims=10, n_inputs=4, n_parents=4, chain_length=2, n_examples=8, n_tasks=5)
    dataset = TokenizedDataset(args.replace(prompt_strategy="cot"))
    for index in range(5):
        _assert_matches(dataset[index], reference_item(dataset.args, "train", index))


FAST_PATH_CONFIGS = [
    dict(vocab_size=16384, activation="leaky_relu"),
    dict(vocab_size=4096, activation="relu", H_num_layers=2),
    dict(
        vocab_size=2048,
        activation="silu",
        dag_strategy="markov",
        n_inputs=(3, 4, 6),
        chain_length=(2, 3),
        cap_parents_to_inputs=True,
    ),
    dict(vocab_size=3000, activation="identity", ablation_fixed_H=True, n_dims=5, data_initializer_range=0.1),
]


@pytest.mark.parametrize("config", FAST_PATH_CONFIGS, ids=lambda c: f"V={c['vocab_size']}-{c['activation']}")
def test_batch_path_equals_float64_full_scoring(config):
    args = Args(**{"n_examples": 40, "n_tasks": 10**6, **config})
    generator = ChainGenerator(args)
    indices = list(range(0, 40_000, 397))  # 101 prompts: pruned readout, vectorised seeding
    for group in generator.sample_groups("train", indices):
        assert len(group.inputs) * 40 * generator.num_ordinary > 1 << 18  # the pruned readout ran
        nodes = np.concatenate([group.inputs, group.chains], axis=2)
        for pos in range(group.parents.shape[1]):
            # the same h, scored against every token in float64: the SPEC rule
            h = _h(generator, nodes, group.parents[:, pos], group.weights[:, pos]).reshape(-1, args.n_dims)
            table_t = generator.embedding[: generator.num_ordinary].T
            full = np.concatenate([(rows @ table_t).argmax(axis=1) for rows in np.array_split(h, 16)])
            np.testing.assert_array_equal(group.chains[:, :, pos].ravel(), full)


def _h(generator, nodes, parents, weights):
    z = np.take_along_axis(nodes[:, :, None, :], parents[:, None, :, None], axis=3)[..., 0]
    z = generator.embedding[z]  # (B, K, M, d)
    for layer in range(weights.shape[1]):
        z = np.einsum("bkmd,bde->bkme", z, weights[:, layer])
        if layer < weights.shape[1] - 1:
            z = generator.activation(z)
    return generator.activation(z.sum(axis=2) / z.shape[2])


def test_batch_path_at_large_vocabulary_equals_naive_reference():
    args = Args(vocab_size=16384, prompt_strategy="cot", n_examples=40, n_tasks=1000)
    generator = ChainGenerator(args)
    indices = list(range(64))
    groups = generator.sample_groups("train", indices)
    (group,) = groups
    for row in range(0, 64, 16):  # the reference is slow at this V: 4 prompts
        ref = reference_item(args, "train", indices[row])
        assert group.chains[row].tolist() == ref["chains"]
        assert group.parents[row].tolist() == ref["adj_list"]
