"""``np.random.default_rng([stream, seed, i])`` for a whole batch of indices at once.

Every prompt draws from its own PCG64 stream seeded with ``[stream, seed, index]`` (so item i
is a pure function of i). Building that generator costs ~12 us per prompt, mostly in
``SeedSequence``'s hashing, which depends on the index only through a few uint32 words. Here
the hashing runs vectorised over all indices of a batch (numpy's documented, stable
``SeedSequence`` algorithm, restated), the PCG64 seeding step is done on Python ints, and one
reused generator takes each prompt's state in turn (~1.5 us). ``tests/generator/test_seeding.py``
checks the result against ``np.random.default_rng`` itself.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

_MASK32 = 0xFFFFFFFF
_MASK128 = (1 << 128) - 1
_POOL_SIZE = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = 0xCA01F9DD, 0x4973F715
_XSHIFT = 16
_PCG_MULT = (2549297995355413924 << 64) | 4865540595714422341
# The vectorised hashing costs ~170 us per call and saves ~8 us per index.
VECTORISE_FROM = 32


def _words(value: int) -> list[int]:
    """``SeedSequence``'s little-endian uint32 words of a non-negative int (0 is one word)."""
    if value < 0:
        raise ValueError(f"seed entropy must be non-negative; got {value}")
    out = [value & _MASK32]
    value >>= 32
    while value:
        out.append(value & _MASK32)
        value >>= 32
    return out


def prefix_words(prefix: Sequence[int]) -> list[int]:
    """The uint32 words of the seed entries every index shares (``[stream, seed]``)."""
    return [w for value in prefix for w in _words(int(value))]


class _Hash:
    """The running hash constant: its sequence does not depend on the hashed values."""

    def __init__(self, init: int, mult: int) -> None:
        self.value, self.mult = init, mult

    def mix(self, values: np.ndarray) -> np.ndarray:
        out = values ^ np.uint32(self.value)
        self.value = (self.value * self.mult) & _MASK32
        out = out * np.uint32(self.value)
        return out ^ (out >> np.uint32(_XSHIFT))


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
    return out ^ (out >> np.uint32(_XSHIFT))


def _pool(entropy: np.ndarray) -> list[np.ndarray]:
    """``SeedSequence.mix_entropy`` over rows: ``entropy`` is ``(B, n_words)`` uint32."""
    h = _Hash(_INIT_A, _MULT_A)
    zero = np.zeros(len(entropy), dtype=np.uint32)
    n_words = entropy.shape[1]
    pool = [h.mix(entropy[:, i] if i < n_words else zero) for i in range(_POOL_SIZE)]
    for src in range(_POOL_SIZE):
        for dst in range(_POOL_SIZE):
            if src != dst:
                pool[dst] = _mix(pool[dst], h.mix(pool[src]))
    for src in range(_POOL_SIZE, n_words):
        for dst in range(_POOL_SIZE):
            pool[dst] = _mix(pool[dst], h.mix(entropy[:, src]))
    return pool


def _state_words(pool: list[np.ndarray]) -> np.ndarray:
    """``SeedSequence.generate_state(4, np.uint64)`` over rows -> ``(B, 4)`` uint64."""
    h = _Hash(_INIT_B, _MULT_B)
    words = []
    for i in range(8):
        out = pool[i % _POOL_SIZE] ^ np.uint32(h.value)
        h.value = (h.value * h.mult) & _MASK32
        out = out * np.uint32(h.value)
        words.append(out ^ (out >> np.uint32(_XSHIFT)))
    low, high = np.stack(words[0::2], axis=1), np.stack(words[1::2], axis=1)
    return low.astype(np.uint64) | (high.astype(np.uint64) << np.uint64(32))


def pcg64_states(prefix: Sequence[int], indices: Sequence[int]) -> list[tuple[int, int]]:
    """PCG64 ``(state, inc)`` of ``default_rng([*prefix, i])`` for each ``i`` in ``indices``."""
    head = prefix_words(prefix)
    indices = [int(i) for i in indices]
    out: list[tuple[int, int]] = [(0, 0)] * len(indices)
    by_width: dict[int, list[int]] = {}
    for slot, index in enumerate(indices):
        by_width.setdefault(len(_words(index)), []).append(slot)
    with np.errstate(over="ignore"):
        for width, slots in by_width.items():
            entropy = np.empty((len(slots), len(head) + width), dtype=np.uint32)
            entropy[:, : len(head)] = head
            for j, slot in enumerate(slots):
                entropy[j, len(head) :] = _words(indices[slot])
            for slot, (s_hi, s_lo, i_hi, i_lo) in zip(slots, _state_words(_pool(entropy)).tolist()):
                # pcg_setseq_128_srandom_r: inc = 2 * initseq + 1, two LCG steps around adding initstate
                inc = (((i_hi << 64) | i_lo) << 1 | 1) & _MASK128
                state = ((inc + ((s_hi << 64) | s_lo)) * _PCG_MULT + inc) & _MASK128
                out[slot] = (state, inc)
    return out


def prompt_generators(prefix: Sequence[int], indices: Sequence[int]) -> Iterator[np.random.Generator]:
    """One generator, re-seeded for each index in turn: exactly ``default_rng([*prefix, i])``.

    The yielded generator may be the same object every time; finish drawing for one index
    before advancing the iterator.
    """
    if len(indices) < VECTORISE_FROM:
        # default_rng's own coercion of a list of ints costs ~5 us more than these uint32 words
        head = prefix_words(prefix)
        for index in indices:
            words = np.array(head + _words(int(index)), dtype=np.uint32)
            yield np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))
        return
    bit_generator = np.random.PCG64(0)
    rng = np.random.Generator(bit_generator)
    for state, inc in pcg64_states(prefix, indices):
        bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": state, "inc": inc},
            "has_uint32": 0,
            "uinteger": 0,
        }
        yield rng
