"""DAG strategies: which earlier nodes each chain token reads (the causal structure G).

Node ``j < N`` is input ``j``; node ``N + c`` is chain token ``c``. A strategy returns the
``(C, M)`` parent array. All randomness comes from one ``rng.random((C, N + C - 1))`` draw of
sort keys, so the naive reference in the tests can consume exactly the same numbers, and the
batch path can draw each prompt's keys from its own stream and turn a whole batch of keys
into parents with one vectorised sort (:meth:`SortKeyDag.from_keys`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from tokenized_cot_icl.foundation.registries import DAG_STRATEGIES


def draw_keys(rng: np.random.Generator, n_inputs: int, chain_length: int) -> np.ndarray:
    """The one draw of a strategy: ``(C, N + C - 1)`` uniform sort keys."""
    return rng.random((chain_length, n_inputs + chain_length - 1))


@functools.lru_cache(maxsize=256)
def _unusable(n_inputs: int, chain_length: int, width: int) -> np.ndarray:
    """``(C, W)``: True where row c would read node >= N + c (built once per shape)."""
    mask = np.arange(width)[None, :] >= (n_inputs + np.arange(chain_length))[:, None]
    mask.flags.writeable = False
    return mask


def _usable(keys: np.ndarray, n_inputs: int) -> np.ndarray:
    """Row c may only use nodes < N + c; invalid slots sort last. ``keys`` is ``(..., C, W)``."""
    return np.where(_unusable(n_inputs, *keys.shape[-2:]), np.inf, keys)


def random_from_keys(keys: np.ndarray, n_inputs: int, n_parents: int) -> np.ndarray:
    """Each chain token reads M distinct nodes drawn uniformly from all earlier nodes."""
    keys = _usable(keys, n_inputs)
    return np.argsort(keys, axis=-1, kind="stable")[..., :n_parents].astype(np.int64)


def markov_from_keys(keys: np.ndarray, n_inputs: int, n_parents: int) -> np.ndarray:
    """Each chain token reads its immediate predecessor plus M-1 random earlier nodes."""
    keys = _usable(keys, n_inputs)
    chain_length = keys.shape[-2]
    previous = n_inputs + np.arange(chain_length) - 1
    keys[..., np.arange(chain_length), previous] = np.inf
    rest = np.argsort(keys, axis=-1, kind="stable")[..., : n_parents - 1]
    first = np.broadcast_to(previous[:, None], (*rest.shape[:-1], 1))
    return np.concatenate([first, rest], axis=-1).astype(np.int64)


def inputs_from_keys(keys: np.ndarray, n_inputs: int, n_parents: int) -> np.ndarray:
    """Each chain token reads M distinct inputs and no chain token: the answer does not read the chain.

    The contrast to ``markov``: the intermediate steps carry none of the answer's dependencies, so
    showing them is an extra task rather than a chain the answer can build on.
    """
    return np.argsort(keys[..., :n_inputs], axis=-1, kind="stable")[..., :n_parents].astype(np.int64)


class SortKeyDag:
    """A strategy that turns the sort keys of :func:`draw_keys` into parents.

    Calling it draws and converts one prompt's keys; ``from_keys`` converts keys of any
    leading batch shape ``(..., C, N + C - 1)`` into parents ``(..., C, M)``.
    """

    def __init__(self, from_keys: Callable[[np.ndarray, int, int], np.ndarray]) -> None:
        self.from_keys = from_keys
        self.__doc__ = from_keys.__doc__

    def __call__(self, rng: np.random.Generator, n_inputs: int, n_parents: int, chain_length: int) -> np.ndarray:
        return self.from_keys(draw_keys(rng, n_inputs, chain_length), n_inputs, n_parents)


DAG_STRATEGIES.register("random")(SortKeyDag(random_from_keys))
DAG_STRATEGIES.register("markov")(SortKeyDag(markov_from_keys))
DAG_STRATEGIES.register("inputs")(SortKeyDag(inputs_from_keys))

# The callable a strategy is looked up as: ``(rng, N, M, C) -> (C, M)`` parents.
DagStrategy = Callable[[np.random.Generator, int, int, int], np.ndarray]

STREAM_FIXED_DAG = 3


class DagSampler:
    """A prompt's DAG: drawn from the prompt's stream, or the one fixed DAG per shape.

    With ``fixed`` (the ``ablation_fixed_dag`` ablation) every prompt of a shape ``(N, M, C)``
    shares one DAG drawn from its own stream ``(STREAM_FIXED_DAG, seed, N, M, C)``; the token
    and the symbolic generators share this class, so the same seed fixes the same DAG.
    """

    def __init__(self, strategy: str, seed: int, fixed: bool) -> None:
        self.strategy: DagStrategy = DAG_STRATEGIES.get(strategy)
        self.seed = seed
        self.fixed = fixed
        self._fixed_dags: dict[tuple[int, int, int], np.ndarray] = {}

    def fixed_dag(self, n_inputs: int, n_parents: int, chain_length: int) -> np.ndarray:
        key = (n_inputs, n_parents, chain_length)
        if key not in self._fixed_dags:
            rng = np.random.default_rng([STREAM_FIXED_DAG, self.seed, *key])
            self._fixed_dags[key] = self.strategy(rng, *key)
        return self._fixed_dags[key]

    def draw(self, rng: np.random.Generator, n_inputs: int, n_parents: int, chain_length: int) -> np.ndarray:
        if self.fixed:
            return self.fixed_dag(n_inputs, n_parents, chain_length)
        return self.strategy(rng, n_inputs, n_parents, chain_length)
