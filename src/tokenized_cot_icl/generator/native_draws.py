"""A batch of prompts' draws in C (``draws.c``), number for number what numpy draws.

Every prompt draws from its own ``default_rng([stream, seed, i])`` (:mod:`.chains`). Drawn
one prompt at a time through numpy, that costs ~25 us a prompt at the seed defaults: a dozen
calls of 1-3 us each, for ~400 numbers. ``draws.c`` seeds each stream, restates PCG64 and
calls numpy's own distribution functions (its static library ``libnpyrandom``, linked in), so
the numbers are numpy's by construction; ``tests/generator/test_draws.py`` checks them against
numpy. It is built on first use (:mod:`tokenized_cot_icl.foundation.native`); where it cannot
be, or with ``COT_ICL_NATIVE=0``, the generator draws through numpy as before.

A prompt's stream travels between the calls as a row of six uint64 (``STATE_WORDS``), so the
caller can group prompts by shape after the shape draws, and hand a stream to a numpy
``Generator`` for draws made in Python (:meth:`NativeDraws.generator_at`).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from tokenized_cot_icl.foundation import native

SOURCE = Path(__file__).with_name("draws.c")
STATE_WORDS = 6  # state and increment (high, low halves), has_uint32, uinteger
SHAPE_FIELDS = 4  # N, M, C, K: the order of ShapeSampler.FIELDS


def numpy_random_build_args() -> list[str] | None:
    """Compiler arguments for numpy's random C API (its headers and ``libnpyrandom``), or None
    where this numpy does not ship them."""
    root = Path(np.__file__).parent
    include, library = Path(np.get_include()), root / "random" / "lib" / "libnpyrandom.a"
    if not (library.is_file() and (include / "numpy" / "random" / "bitgen.h").is_file()):
        return None
    # numpy's version keys the cache too (the library file is hashed), and its symbols stay private
    return [f"-I{include}", str(library), "-Wl,--exclude-libs,ALL"]


def load_library() -> ctypes.CDLL | None:
    """``draws.c`` built and loaded, or None (switched off, no compiler, no numpy random C API)."""
    extra = numpy_random_build_args()
    if extra is None or not native.native_enabled():
        return None
    library = native.load(SOURCE, extra)
    if library is None:
        return None
    ptr, i64 = ctypes.c_void_p, ctypes.c_int64
    library.draws_seed.argtypes = [ptr, i64, ptr, i64, ptr]
    library.draws_shapes.argtypes = [ptr, i64, ptr, ptr, i64, ptr]
    library.draws_group.argtypes = [ptr, ptr, i64, i64, i64, i64, i64, i64, i64, ptr, ptr, ptr, ptr]
    for name in ("draws_seed", "draws_shapes", "draws_group"):
        getattr(library, name).restype = None
    return library


class DrawnGroup(NamedTuple):
    """The draws of the prompts of one shape, in the order they were requested."""

    shape: tuple[int, int, int, int]  # N, M (capped at N), C, K
    slots: list[int]  # positions in the requested index list
    keys: np.ndarray | None  # (B, C, N + C - 1) DAG sort keys, None for a fixed DAG
    weights: np.ndarray | None  # (B, C, L, d, d) processors, None when taken from a pool
    picks: np.ndarray | None  # (B, C) pool picks, None unless num_unique_H > 0
    inputs: np.ndarray  # (B, K, N)
    states: np.ndarray  # (B, STATE_WORDS) the streams after these draws


class _Scratch:
    """One thread's buffers for the C calls, their addresses looked up once per size
    (``ndarray.ctypes.data`` costs ~1.5 us, as much as drawing a prompt)."""

    def __init__(self, prompts: int, reals: int, ints: int) -> None:
        self.prompts, self.reals, self.ints = prompts, reals, ints
        self.indices = np.empty(prompts, dtype=np.uint64)
        self.states = np.empty((prompts, STATE_WORDS), dtype=np.uint64)
        self.shapes = np.empty((prompts, SHAPE_FIELDS), dtype=np.int64)
        self.rows = np.empty(prompts, dtype=np.int64)
        self.real = np.empty(reals)
        self.int = np.empty(ints, dtype=np.int64)
        arrays = (self.indices, self.states, self.shapes, self.rows, self.real, self.int)
        self.at = [a.ctypes.data for a in arrays]

    def fits(self, prompts: int, reals: int, ints: int) -> bool:
        return prompts <= self.prompts and reals <= self.reals and ints <= self.ints


class NativeDraws:
    """The draws of one generator configuration, for any batch of prompts.

    ``choices``: the four shape fields' choices (N, M, C, K; one value: no draw). ``keys``:
    whether the DAG's sort keys are drawn (False: a fixed DAG, no draws). ``pool_size``: 0 draws
    every processor (``weight_shape`` normals per chain token), >0 draws C picks from a pool of
    that size, -1 draws nothing for them (the pool's first C).
    """

    def __init__(
        self,
        library: ctypes.CDLL,
        choices: Sequence[Sequence[int]],
        n_ordinary: int,
        weight_shape: tuple[int, int, int],
        keys: bool,
        pool_size: int,
    ) -> None:
        self.library = library
        self.fixed_shape = all(len(c) == 1 for c in choices)
        width = max(len(c) for c in choices)
        self.counts = np.array([len(c) for c in choices], dtype=np.int64)
        self.choices = np.zeros((SHAPE_FIELDS, width), dtype=np.int64)
        for field, values in enumerate(choices):
            self.choices[field, : len(values)] = values
        self.max_shape = [max(c) for c in choices]
        first = [int(c[0]) for c in choices]
        self.first_shape = (first[0], min(first[1], first[0]), first[2], first[3])
        self.n_ordinary = n_ordinary
        self.weight_shape = tuple(weight_shape)
        self.weight_size = int(np.prod(weight_shape))
        self.keys = keys
        self.pool_size = pool_size
        self._choice_at = (self.counts.ctypes.data, self.choices.ctypes.data)
        self._prefixes: dict[tuple[int, ...], tuple[np.ndarray, int]] = {}
        self._local = threading.local()

    def _scratch(self, prompts: int) -> _Scratch:
        n, m, c, k = self.max_shape
        reals = prompts * c * ((n + c - 1) * self.keys + self.weight_size * (self.pool_size == 0))
        ints = prompts * (c + k * n)
        scratch = getattr(self._local, "scratch", None)
        if scratch is None or not scratch.fits(prompts, reals, ints):
            size = max(prompts, 64)
            scratch = self._local.scratch = _Scratch(size, reals * size // prompts, ints * size // prompts)
        return scratch

    def draw(self, prefix_words: Sequence[int], indices: Sequence[int]) -> list[DrawnGroup]:
        """The draws of ``default_rng([*prefix, i])`` for each ``i`` of ``indices``, grouped by shape
        in order of first appearance; ``prefix_words`` are the shared entries' uint32 words
        (:func:`.seeding.prefix_words`)."""
        count = len(indices)
        if not count:
            return []
        scratch = self._scratch(count)
        words, words_at = self._prefix(prefix_words)
        scratch.indices[:count] = indices
        at_indices, at_states, at_shapes, at_rows, at_real, at_int = scratch.at
        self.library.draws_seed(words_at, len(words), at_indices, count, at_states)
        if self.fixed_shape:
            by_shape = {self.first_shape: list(range(count))}
        else:
            self.library.draws_shapes(at_states, count, *self._choice_at, self.choices.shape[1], at_shapes)
            by_shape = {}
            for slot, (n, m, c, k) in enumerate(scratch.shapes[:count].tolist()):
                by_shape.setdefault((n, min(m, n), c, k), []).append(slot)
        groups = []
        for shape, slots in by_shape.items():
            rows_at = None
            if len(slots) < count:
                scratch.rows[: len(slots)] = slots
                rows_at = at_rows
            groups.append(self._group(scratch, shape, slots, rows_at))
        return groups

    def _group(self, scratch: _Scratch, shape: tuple[int, int, int, int], slots: list[int], rows_at) -> DrawnGroup:
        n, _, c, k = shape
        b = len(slots)
        key_count = c * (n + c - 1) if self.keys else 0
        weight_count = c * self.weight_size if self.pool_size == 0 else 0
        pick_count = c if self.pool_size > 0 else 0
        _, at_states, _, _, at_real, at_int = scratch.at
        self.library.draws_group(
            at_states, rows_at, b, key_count, weight_count, max(self.pool_size, 0), c, k * n, self.n_ordinary,
            at_real, at_real + 8 * b * key_count, at_int, at_int + 8 * b * pick_count,
        )  # fmt: skip
        # copies out of the scratch: the caller keeps these
        real, ints = scratch.real, scratch.int
        keys = real[: b * key_count].reshape(b, c, n + c - 1).copy() if key_count else None
        weights = None
        if weight_count:
            weights = real[b * key_count : b * (key_count + weight_count)].reshape(b, c, *self.weight_shape).copy()
        picks = ints[: b * pick_count].reshape(b, c).copy() if pick_count else None
        inputs = ints[b * pick_count : b * (pick_count + k * n)].reshape(b, k, n).copy()
        states = scratch.states[slots] if rows_at is not None else scratch.states[:b].copy()
        return DrawnGroup(shape, slots, keys, weights, picks, inputs, states)

    def _prefix(self, words: Sequence[int]) -> tuple[np.ndarray, int]:
        key = tuple(words)
        if key not in self._prefixes:
            array = np.asarray(key, dtype=np.uint32)
            self._prefixes[key] = (array, array.ctypes.data)
        return self._prefixes[key]

    @staticmethod
    def generator_at(state: np.ndarray, rng: np.random.Generator | None = None) -> np.random.Generator:
        """A numpy ``Generator`` (``rng``, re-seated, or a new one) at a stream's ``state`` row."""
        hi, lo, inc_hi, inc_lo, has_uint32, uinteger = (int(w) for w in state)
        if rng is None:
            rng = np.random.Generator(np.random.PCG64(0))
        rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": hi << 64 | lo, "inc": inc_hi << 64 | inc_lo},
            "has_uint32": has_uint32,
            "uinteger": uinteger,
        }
        return rng
