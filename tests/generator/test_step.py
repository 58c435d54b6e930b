"""The C step rule (step.c) computes numpy's hidden states: bit for bit where numpy's products
accumulate with fused multiply-adds in order (OpenBLAS's kernels at these sizes), within a few
ulps elsewhere, and with the same chain tokens everywhere."""

import functools
import itertools
from fractions import Fraction

import numpy as np
import pytest

from tests.generator.test_chains import GENERATOR_VARIANTS, _base
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.native_step import NativeStep

pytestmark = pytest.mark.skipif(
    NativeStep.build(np.zeros((2, 2)), "relu") is None, reason="step.c cannot be built here (no C compiler)"
)

ACTIVATIONS = ["identity", "relu", "leaky_relu"]


def _pair(**overrides) -> tuple[ChainGenerator, ChainGenerator]:
    """A generator on the C step and one on numpy's, same arguments."""
    args = Args(**({"vocab_size": 200} | overrides))
    fast, slow = ChainGenerator(args), ChainGenerator(args)
    assert fast.native_step is not None
    slow.native_step = None  # the cached property, set: step_hidden takes the numpy path
    return fast, slow


def _random_step(rng, generator: ChainGenerator, entries: int, rows: int, parents: int):
    a = generator.args
    tokens = rng.integers(0, generator.num_ordinary, (entries, rows, parents))
    weights = rng.standard_normal((entries, a.H_num_layers, a.n_dims, a.n_dims))
    return tokens, weights


def _fused_in_order(z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``z @ w`` with each output accumulated over k in order, one rounding per multiply-add."""
    out = np.empty((len(z), w.shape[1]))
    for i, j in itertools.product(range(len(z)), range(w.shape[1])):
        acc = 0.0
        for k in range(w.shape[0]):
            acc = float(Fraction(z[i, k]) * Fraction(w[k, j]) + Fraction(acc))
        out[i, j] = acc
    return out


@functools.cache
def _numpy_fuses_in_order(rows: int, dims: int) -> bool:
    """Whether numpy's stacked ``(rows x dims) @ (dims x dims)`` products round as in-order
    multiply-adds. BLAS kernels differ by CPU (and by the row count's tail), so each shape the
    bit-for-bit test uses is probed on the machine running it."""
    rng = np.random.default_rng(rows * 100 + dims)
    z, w = rng.standard_normal((2, rows, dims)), rng.standard_normal((2, dims, dims))
    return all(np.array_equal((z @ w)[b], _fused_in_order(z[b], w[b])) for b in range(2))


@pytest.mark.parametrize("dims", [1, 2, 7, 10, 16])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_hidden_states_are_numpys_bit_for_bit(dims, activation):
    rng = np.random.default_rng(dims)
    compared = 0
    for layers, parents in itertools.product([1, 2, 3], [1, 2, 4]):
        fast, slow = _pair(n_dims=dims, H_num_layers=layers, activation=activation)
        for entries, rows in [(1, 2), (3, 1), (5, 7), (9, 40)]:
            if rows * parents < 2:
                continue
            tokens, weights = _random_step(rng, fast, entries, rows, parents)
            got = fast.native_step.hidden(tokens, weights)
            assert got is not None
            if not _numpy_fuses_in_order(rows * parents, dims):
                continue  # this BLAS rounds that product its own way: equal to rounding only (below)
            compared += 1
            assert np.array_equal(got, slow.step_hidden(tokens, weights)), (layers, parents, entries, rows)
    if not compared:
        pytest.skip(
            f"this BLAS rounds every ({dims} x {dims}) product shape here otherwise than in-order multiply-adds"
        )


@pytest.mark.parametrize("dims", [3, 10, 17, 33, 64])
def test_hidden_states_agree_with_numpy_to_rounding(dims):
    rng = np.random.default_rng(dims)
    fast, slow = _pair(n_dims=dims, H_num_layers=2, activation="leaky_relu")
    tokens, weights = _random_step(rng, fast, 6, 11, 3)
    got, want = fast.native_step.hidden(tokens, weights), slow.step_hidden(tokens, weights)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("variant", GENERATOR_VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_chain_tokens_are_the_same_on_both_steps(variant):
    args = _base(**({"n_examples": (1, 9)} | variant))
    fast, slow = ChainGenerator(args), ChainGenerator(args)
    slow.native_step = None
    if args.activation == "silu":
        assert fast.native_step is None  # activations step.c does not know go through numpy
    for got, want in zip(fast.sample_groups("train", range(40)), slow.sample_groups("train", range(40))):
        assert np.array_equal(got.chains, want.chains)


def test_activations_keep_nan_and_signed_zeros_as_numpy_does():
    for activation in ACTIVATIONS:
        fast, slow = _pair(n_dims=4, activation=activation, H_num_layers=2)
        fast.embedding[:5] = [[np.nan, 0.0, -0.0, 1.0], [np.inf, -np.inf, -1.0, 0.0], [0.0] * 4, [-0.0] * 4, [-2.0] * 4]
        slow.embedding[:5] = fast.embedding[:5]
        tokens = np.array([[[0, 1], [2, 3], [1, 2], [3, 3], [4, 2], [4, 4]]])
        weights = np.stack([np.eye(4), -np.eye(4)])[None]
        with np.errstate(invalid="ignore"):  # inf times 0 in numpy's product
            got, want = fast.native_step.hidden(tokens, weights), slow.step_hidden(tokens, weights)
        assert np.array_equal(got, want, equal_nan=True), activation
        numbers = ~np.isnan(want)  # a NaN's sign bit carries no meaning
        assert np.array_equal(np.signbit(got[numbers]), np.signbit(want[numbers])), activation


def test_what_step_c_does_not_take_goes_to_numpy():
    fast, slow = _pair(n_dims=5)
    rng = np.random.default_rng(0)
    tokens, weights = _random_step(rng, fast, 4, 1, 1)
    assert fast.native_step.hidden(tokens, weights) is None  # one row: numpy's matrix-vector rounding
    np.testing.assert_array_equal(fast.step_hidden(tokens, weights), slow.step_hidden(tokens, weights))
    tokens, weights = _random_step(rng, fast, 2, 3, 2)
    tokens[1, 2, 0] = fast.embedding.shape[0]
    assert fast.native_step.hidden(tokens, weights) is None
    with pytest.raises(IndexError):
        fast.step_hidden(tokens, weights)  # numpy's own error
    tokens[1, 2, 0] = 0
    with pytest.raises(ValueError):
        fast.step_hidden(tokens, weights[:, :, :4])  # weights of another d: numpy's product refuses them
    assert NativeStep.build(fast.embedding, "silu") is None
    assert NativeStep.build(np.zeros((8, 65)), "relu") is None  # beyond step.c's stack rows


def test_weights_may_be_strided_views():
    """compute_chains hands ``weights[:, pos]``: entries several (L, d, d) blocks apart."""
    fast, slow = _pair(n_dims=6, H_num_layers=2)
    rng = np.random.default_rng(1)
    tokens, _ = _random_step(rng, fast, 5, 4, 3)
    weights = rng.standard_normal((5, 3, 2, 6, 6))[:, 1]
    assert not weights.flags.c_contiguous
    assert np.array_equal(fast.native_step.hidden(tokens, weights), slow.step_hidden(tokens, weights))


def test_chain_positions_settle_near_rows_as_the_reference_does():
    """Every ordinary token has a twin a few float64 ulps larger further on: equal in float32, so
    every row is near, and only the float64 rule can tell which of the two wins (the twin, mostly)."""
    args = _base(vocab_size=64, n_dims=5, activation="relu")
    fast, slow = ChainGenerator(args), ChainGenerator(args)
    slow.native_step = None
    half = fast.num_ordinary // 2
    ulps = np.random.default_rng(0).integers(1, 4, (half, 1)) * 2.0**-52
    for generator in (fast, slow):
        generator.embedding[half : 2 * half] = generator.embedding[:half] * (1 + ulps)
    (group,) = fast.draw_groups("train", range(30))
    drawn = (group.inputs, group.parents, group.weights)
    got = fast.native_step.chains(*drawn, fast.scorer)
    assert got is not None
    assert np.array_equal(got, slow.compute_chains(*drawn))
    assert ((got >= half) & (got < 2 * half)).mean() > 0.3  # twins win where their score is positive


def test_chain_positions_hand_numpy_what_they_do_not_take():
    args = _base(n_examples=1, n_parents=1, n_inputs=2, chain_length=2)
    fast = ChainGenerator(args)
    (group,) = fast.draw_groups("train", range(5))
    assert fast.native_step.chains(group.inputs, group.parents, group.weights, fast.scorer) is None  # K M = 1
    fast = ChainGenerator(_base())
    (group,) = fast.draw_groups("train", range(5))
    parents = group.parents.copy()
    parents[2, 1, 0] = group.inputs.shape[2] + 1  # a parent that is not computed yet
    assert fast.native_step.chains(group.inputs, parents, group.weights, fast.scorer) is None
    assert fast.native_step.chains(group.inputs, group.parents, group.weights, object()) is None  # no C readout
    inputs = group.inputs.copy()
    inputs[0, 0, :] = fast.embedding.shape[0]  # every input of one example: its parents read one
    assert fast.native_step.chains(inputs, group.parents, group.weights, fast.scorer) is None


def test_chain_positions_refuse_a_readout_table_of_another_layout():
    """A readout library built with other flags lays its table out in other blocks."""
    fast = ChainGenerator(_base())
    (group,) = fast.draw_groups("train", range(5))
    fast.scorer.native.lanes += 1
    assert fast.native_step.chains(group.inputs, group.parents, group.weights, fast.scorer) is None
    fast.scorer.native.lanes -= 1
    assert fast.native_step.chains(group.inputs, group.parents, group.weights, fast.scorer) is not None
