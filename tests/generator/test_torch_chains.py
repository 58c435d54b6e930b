"""The torch generator (float64, on the CPU and, where one is visible, on CUDA) computes the numpy path's chain tokens."""

import itertools

import numpy as np
import pytest
import torch

from tests.generator.reference import pairs_ulps_apart, reference_tokens
from tests.helpers import DEVICES
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.foundation.registries import ACTIVATIONS
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.torch_chains import TORCH_ACTIVATIONS, TorchChains

VARIANTS = [
    dict(activation=act, H_num_layers=layers)
    for act, layers in itertools.product(["identity", "relu", "leaky_relu", "silu"], [1, 2, 3])
] + [
    dict(ablation_fixed_H=True, num_unique_H=3, H_num_layers=2),
    dict(ablation_fixed_dag=True, dag_strategy="markov"),
    dict(n_inputs=(3, 5, 6), n_parents=(2, 4), chain_length=(1, 3, 4), n_examples=(2, 5), cap_parents_to_inputs=True),
    dict(vocab_size=5000, n_dims=10, n_examples=12),
    dict(data_initializer_range=0.3, n_dims=4, vocab_size=40),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_torch_chains_equal_numpy_chains(variant, device):
    kwargs = dict(vocab_size=700, n_dims=6, n_inputs=4, n_parents=3, chain_length=3, n_examples=6, seed=5)
    args = Args(**{**kwargs, **variant})
    generator = ChainGenerator(args)
    on_device = TorchChains(generator, device)
    for group in generator.sample_groups("train", range(300)):
        chains = on_device.compute(group)
        assert chains.dtype == torch.long and chains.device.type == device
        np.testing.assert_array_equal(chains.cpu().numpy(), group.chains)


def test_every_activation_has_a_torch_twin_with_the_same_values():
    x = np.random.default_rng(0).standard_normal(1000) * 5
    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS.names())
    for name in ACTIVATIONS.names():
        got, want = TORCH_ACTIVATIONS[name](torch.from_numpy(x)).numpy(), ACTIVATIONS.get(name)(x)
        if name == "silu":
            # exp is each library's own, and its last bit differs by CPU (vectorised exp kernels);
            # chain tokens stay equal because near ties are settled by the float64 reference.
            np.testing.assert_allclose(got, want, rtol=4 * np.finfo(np.float64).eps, atol=0)
        else:
            np.testing.assert_array_equal(got, want)


def test_ties_resolve_to_the_first_token():
    generator = ChainGenerator(Args(vocab_size=64, n_dims=4))
    h = torch.zeros(3, 4, dtype=torch.float64)  # every score 0
    assert TorchChains(generator, "cpu").argmax(h).tolist() == [0, 0, 0]


@pytest.mark.parametrize("device", DEVICES)
def test_scores_a_few_float64_ulps_apart_follow_the_reference(device):
    """Near-duplicate tokens whose scores differ by rounding alone: the device's product may round
    differently from the reference's per-row product, and the reference must still win."""
    generator = ChainGenerator(Args(vocab_size=1000, n_dims=10))
    rng = np.random.default_rng(4)
    generator.embedding = pairs_ulps_apart(rng)
    on_device = TorchChains(generator, device)
    h = rng.standard_normal((3000, 10))
    expected = reference_tokens(generator.embedding[: generator.num_ordinary], h)
    assert on_device.argmax(torch.from_numpy(h).to(device)).tolist() == expected.tolist()
