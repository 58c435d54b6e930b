"""The float32 readout (with its float64 re-check) returns the float64 reference's tokens, on both
implementations: the numpy stages and the C kernel (``native``)."""

import numpy as np
import pytest

from tests.generator.reference import pairs_ulps_apart, reference_tokens
from tokenized_cot_icl.foundation import native as native_kernels
from tokenized_cot_icl.generator.scoring import PRUNE_FROM, TokenScorer


@pytest.fixture(params=[False, True], ids=["numpy", "native"])
def native(request):
    if request.param and native_kernels._compiler() is None:
        pytest.skip("no C compiler: the native readout cannot be built here")
    return request.param


def _scorer(table, native, dtype=np.float32) -> TokenScorer:
    scorer = TokenScorer(table, dtype, use_native=native)
    # the C kernel scores in float32 only; where a compiler exists, it must be the one running
    assert (scorer.native is not None) == (native and dtype == np.float32)
    return scorer


def _direct_calls(scorer: TokenScorer, h: np.ndarray) -> np.ndarray:
    """``h`` in calls of 40 rows, as ``dataset[i]`` makes them: below PRUNE_FROM, the direct path."""
    assert 40 * scorer.size < PRUNE_FROM
    return np.concatenate([scorer.argmax(h[i : i + 40]) for i in range(0, len(h), 40)])


def _rows(rng, n, d, activation):
    h = rng.standard_normal((n, d)) @ rng.standard_normal((d, d))
    return {"identity": h, "relu": np.maximum(h, 0.0), "leaky": np.maximum(h, 0.5 * h)}[activation]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["identity", "relu", "leaky"])
@pytest.mark.parametrize("size,dims", [(300, 4), (1024, 10), (5000, 10), (2048, 3)])
def test_pruned_scores_give_reference_tokens(size, dims, activation, dtype, native):
    rng = np.random.default_rng(size + dims)
    table = rng.standard_normal((size, dims)) * rng.uniform(0.2, 2.0)
    scorer = _scorer(table, native, dtype)
    h = _rows(rng, max(600, 2 * PRUNE_FROM // size), dims, activation)  # above PRUNE_FROM: the pruned path
    assert len(h) * size >= PRUNE_FROM
    np.testing.assert_array_equal(scorer.argmax(h), reference_tokens(table, h))
    np.testing.assert_array_equal(scorer.argmax(h[:5]), reference_tokens(table, h[:5]))  # the direct path


def test_ties_and_near_ties_resolve_to_the_first_token(native):
    rng = np.random.default_rng(0)
    table = rng.standard_normal((2000, 6))
    # long vectors, so that they win for h along them
    table[700] = table[1500] = 10 * np.eye(6)[0]  # an exact tie: the first (700) must win
    table[300], table[1200] = 10 * np.eye(6)[1], 10 * (1 + 1e-9) * np.eye(6)[1]  # a float32 near-tie: 1200 wins
    scorer = _scorer(table, native)
    h = np.concatenate(
        [
            np.zeros((50, 6)),  # every score is 0: token 0
            np.tile(table[700], (50, 1)) * rng.uniform(0.5, 2, (50, 1)),  # best is the duplicated pair
            np.tile(table[300], (50, 1)) * rng.uniform(0.5, 2, (50, 1)),  # best is the near-tie pair
            rng.standard_normal((200, 6)) * 1e-30,  # tiny rows: float32 underflows to 0
            rng.standard_normal((200, 6)),
        ]
    )
    tokens = scorer.argmax(h)  # the pruned path
    np.testing.assert_array_equal(tokens, reference_tokens(table, h))
    assert set(tokens[:50]) == {0} and set(tokens[50:100]) == {700} and set(tokens[100:150]) == {1200}
    np.testing.assert_array_equal(_direct_calls(scorer, h), tokens)


def test_small_tables_score_every_token(native):
    table = np.random.default_rng(1).standard_normal((40, 4))
    scorer = _scorer(table, native)
    assert scorer.stage1 == 40
    h = np.random.default_rng(2).standard_normal((PRUNE_FROM // 40 + 1, 4))
    np.testing.assert_array_equal(scorer.argmax(h), reference_tokens(table, h))


def test_many_near_duplicate_tokens(native):
    """Pairs closer than float32 can tell apart: the float64 re-check must pick the reference's."""
    rng = np.random.default_rng(3)
    base = rng.standard_normal((500, 8))
    scale = 1 + rng.uniform(-2e-7, 2e-7, (500, 1))  # without the re-check, ~6 rows of 2000 differ
    table = np.concatenate([base, base * scale])[rng.permutation(1000)]
    scorer = _scorer(table, native)
    h = rng.standard_normal((2000, 8))
    np.testing.assert_array_equal(scorer.argmax(h), reference_tokens(table, h))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairs_a_few_float64_ulps_apart_follow_the_reference_on_both_paths(dtype, native):
    """Where two scores differ by float64 rounding alone, the matrix product of a batch and the
    reference's per-row product can round differently: both paths must still return the
    reference's token (the direct path of dataset[i] as well as the pruned batch path)."""
    rng = np.random.default_rng(4)
    table = pairs_ulps_apart(rng)
    scorer = _scorer(table, native, dtype)
    h = rng.standard_normal((3000, 10))
    expected = reference_tokens(table, h)
    np.testing.assert_array_equal(scorer.argmax(h), expected)  # pruned
    np.testing.assert_array_equal(_direct_calls(scorer, h), expected)


@pytest.mark.parametrize("size,dims", [(1, 3), (17, 1), (63, 33), (65, 10), (129, 64)])
def test_odd_sizes_and_wide_rows(size, dims, native):
    """Tables that are not whole blocks of the kernel (padding) and rows wider than a register."""
    rng = np.random.default_rng(size * dims)
    table = rng.standard_normal((size, dims))
    scorer = _scorer(table, native)
    h = rng.standard_normal((300, dims))
    np.testing.assert_array_equal(scorer.argmax(h), reference_tokens(table, h))
    np.testing.assert_array_equal(scorer.argmax(h[:1]), reference_tokens(table, h[:1]))


def test_rows_beyond_float32_are_rescored_in_float64(native):
    """Rows whose coordinates overflow float32 (finite in float64) are flagged and settled the
    reference's way, like near-ties: the float32 scores are infinite or NaN there."""
    rng = np.random.default_rng(3)
    table = rng.standard_normal((1024, 10))
    h = rng.standard_normal((64, 10))
    h[::2] *= 1e39  # above float32's largest (3.4e38), far below float64's
    np.testing.assert_array_equal(_scorer(table, native).argmax(h), reference_tokens(table, h))


def test_the_kernels_table_starts_on_cache_lines(native):
    """A 64-byte SIMD load from the table never straddles two cache lines (numpy aligns to 16 bytes)."""
    scorer = _scorer(np.random.default_rng(0).standard_normal((300, 10)), native)
    if scorer.native is None:
        pytest.skip("the numpy stages keep no kernel table")
    blocks, bias = scorer.native._arrays[:2]
    assert blocks.ctypes.data % 64 == 0 and bias.ctypes.data % 64 == 0
    assert blocks.flags.c_contiguous and blocks.dtype == np.float32
