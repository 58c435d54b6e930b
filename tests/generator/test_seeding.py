"""The batch seeding equals ``np.random.default_rng([stream, seed, i])`` itself."""

import numpy as np
import pytest

from tokenized_cot_icl.generator.seeding import VECTORISE_FROM, pcg64_states, prompt_generators

INDICES = [0, 1, 2, 7, 255, 2**32 - 1, 2**32, 2**40 + 7, 2**64 + 3, 3_200_000]


@pytest.mark.parametrize("vectorised", [False, True], ids=["one-by-one", "vectorised"])
@pytest.mark.parametrize("prefix", [(10, 42), (11, 0), (10, 2**33 + 5), (1,), ()])
def test_states_match_default_rng(prefix, vectorised):
    indices = INDICES + list(range(100, 100 + VECTORISE_FROM)) if vectorised else INDICES
    assert (len(indices) >= VECTORISE_FROM) == vectorised
    for index, rng in zip(indices, prompt_generators(prefix, indices), strict=True):
        reference = np.random.default_rng([*prefix, index])
        # every draw kind the generator makes, in its order
        assert rng.random(3).tolist() == reference.random(3).tolist()
        assert rng.standard_normal(5).tolist() == reference.standard_normal(5).tolist()
        assert rng.integers(0, 1000, size=7).tolist() == reference.integers(0, 1000, size=7).tolist()


def test_state_words_equal_numpy_pcg64():
    for index, (state, inc) in zip(INDICES, pcg64_states((10, 42), INDICES)):
        expected = np.random.PCG64(np.random.SeedSequence([10, 42, index])).state["state"]
        assert (state, inc) == (expected["state"], expected["inc"])


def test_negative_entropy_is_refused():
    with pytest.raises(ValueError, match="non-negative"):
        pcg64_states((10, -1), [0])
