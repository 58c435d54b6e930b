"""The C draws (draws.c) give numpy's numbers: every group of every configuration equals the
numpy draws' group, array for array, and a stream handed back to numpy continues where numpy's
own generator would be."""

import numpy as np
import pytest

from tests.generator.test_chains import GENERATOR_VARIANTS, STRATEGIES, _base
from tokenized_cot_icl.data.rendering import PromptRenderer
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.native_draws import NativeDraws, load_library, numpy_random_build_args

pytestmark = pytest.mark.skipif(
    numpy_random_build_args() is None or load_library() is None,
    reason="draws.c cannot be built here (no C compiler, or this numpy ships no random C API)",
)

# first indices, a batch, and indices of one and two uint32 words around 2^32
INDEX_SETS = [[0], [3, 1, 4, 1, 5], list(range(40)), [2**32 - 1, 2**32, 2**40 + 7, 17]]


def _numpy_draws(generator: ChainGenerator) -> ChainGenerator:
    generator.native_draws = None  # the cached property, set: draw_groups takes the numpy path
    return generator


def _assert_same_groups(got, want):
    assert [g.slots for g in got] == [g.slots for g in want]
    for a, b in zip(got, want):
        for name in ("inputs", "parents", "weights"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.dtype == y.dtype and x.shape == y.shape, name
            assert np.array_equal(x, y), name
        assert all(np.array_equal(x, y) if x is not None else y is None for x, y in zip(a.extras, b.extras))


@pytest.mark.parametrize("variant", GENERATOR_VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_native_draws_equal_numpy_draws(variant):
    args = _base(**variant)  # a prompt's draws are a function of its index alone: indices past 2**32 need no n_tasks
    fast = ChainGenerator(args)
    assert fast.native_draws is not None
    slow = _numpy_draws(ChainGenerator(args))
    for split in ("train", "eval"):
        for indices in INDEX_SETS:
            _assert_same_groups(fast.draw_groups(split, indices), slow.draw_groups(split, indices))


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: s["prompt_strategy"])
def test_native_draws_hand_their_streams_to_the_prompt_strategy(strategy):
    """The hybrid strategy draws its CoT coin flips in Python, after the C draws."""
    args = _base(**strategy, n_inputs=(3, 4), n_examples=(3, 9))
    fast, slow = PromptRenderer(args, "train", 50), PromptRenderer(args, "train", 50)
    _numpy_draws(slow.generator)
    indices = list(range(50))
    _assert_same_groups(fast.draw(indices), slow.draw(indices))


def test_streams_continue_where_numpys_would_be():
    """After seeding, shapes and the rest, a stream is where ``default_rng([10, 7, i])`` is."""
    args = _base(n_inputs=(3, 5), n_examples=(2, 6), ablation_fixed_H=True, num_unique_H=3)
    draws = ChainGenerator(args).native_draws
    indices = [0, 9, 2**33 + 1, 4, 5, 6]
    fields = [args.choices(f) for f in ("n_inputs", "n_parents", "chain_length", "n_examples")]
    seen = 0
    for group in draws.draw([10, 7], indices):
        for row, slot in enumerate(group.slots):
            rng = np.random.default_rng([10, 7, indices[slot]])
            n, m, c, k = [f[int(rng.integers(len(f)))] if len(f) > 1 else f[0] for f in fields]
            assert group.shape == (n, min(m, n), c, k)
            assert np.array_equal(group.keys[row], rng.random((c, n + c - 1)))
            assert group.weights is None and np.array_equal(group.picks[row], rng.integers(0, 3, size=c))
            assert np.array_equal(group.inputs[row], rng.integers(0, args.num_ordinary_tokens, size=(k, n)))
            handed = NativeDraws.generator_at(group.states[row])
            assert handed.bit_generator.state == rng.bit_generator.state
            assert np.array_equal(handed.random(5), rng.random(5))
            seen += 1
    assert seen == len(indices)
    assert draws.draw([10, 7], []) == []
