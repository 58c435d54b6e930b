"""The chain generator (SPEC section 2): E, G, H and the chain tokens of every prompt.

Determinism: all randomness of prompt ``i`` of a split comes from one generator seeded with
``(stream, seed, i)``; shared objects (E, the fixed-H pool, fixed DAGs) come from their own
streams. No global RNG is touched, so any rank, worker or access order sees the same items.

Per prompt the draws happen in this order (the naive reference in the tests relies on it):
shape choices (N, M, C, K for each field given as a tuple) -> DAG sort keys -> token
processors -> inputs -> (prompt strategy: per-example CoT coin flips).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.generator.activations import ACTIVATIONS
from tokenized_cot_icl.generator.dags import DagSampler, draw_keys
from tokenized_cot_icl.generator.native_draws import NativeDraws, load_library
from tokenized_cot_icl.generator.native_step import NativeStep
from tokenized_cot_icl.generator.scoring import TokenScorer
from tokenized_cot_icl.generator.seeding import prefix_words, prompt_generators

GENERATOR_VERSION = 1

STREAM_EMBEDDING = 1
STREAM_H_POOL = 2
SPLIT_STREAMS = {"train": 10, "eval": 11}
SCRATCH_ELEMENTS = 1 << 17  # gathered parent vectors per sub-batch (1 MiB of float64): stays in cache

# ``then(rng, slot, K)``: the caller's draws that follow a prompt's generator draws (CoT coin flips).
Then = Callable[[np.random.Generator, int, int], Any]


@dataclass
class PromptGroup:
    """Prompts of one shape, drawn one by one and computed together (the batch path's unit)."""

    slots: list[int]  # positions of these prompts in the requested index list
    inputs: np.ndarray  # (B, K, N) ordinary token ids
    parents: np.ndarray  # (B, C, M) adjacency lists
    weights: np.ndarray  # (B, C, L, d, d) token processors
    extras: list  # per prompt, what ``then`` returned (None without ``then``)
    chains: Any = None  # (B, K, C) chain token ids y_1..y_C, once computed (numpy, or torch on a device)


class ShapeSampler:
    """``(N, M, C, K)`` of one prompt: a uniform draw for each field given as a tuple, M capped at N.

    ``config`` is anything with ``choices(name)`` (``Args``, ``SymbolicArgs``); only the fields
    given as tuples consume draws, so the token and the symbolic generators draw alike.
    """

    FIELDS = ("n_inputs", "n_parents", "chain_length", "n_examples")

    def __init__(self, config) -> None:
        self._shape = [config.choices(name)[0] for name in self.FIELDS]
        self._draws = [(i, config.choices(name)) for i, name in enumerate(self.FIELDS) if len(config.choices(name)) > 1]

    def __call__(self, rng: np.random.Generator) -> tuple[int, int, int, int]:
        values = list(self._shape)
        for field, choices in self._draws:
            values[field] = choices[int(rng.integers(len(choices)))]
        n, m, c, k = values
        return n, min(m, n), c, k


def split_stream(split: str) -> int:
    try:
        return SPLIT_STREAMS[split]
    except KeyError:
        raise ValueError(f"split must be one of {list(SPLIT_STREAMS)}; got {split!r}") from None


class ChainGenerator:
    """Draws prompts (inputs, DAG, processors) and computes their chain tokens."""

    def __init__(self, args: Args) -> None:
        self.args = args
        self.activation = ACTIVATIONS.get(args.activation)
        self.dags = DagSampler(args.dag_strategy, args.seed, args.ablation_fixed_dag)
        self.dag_strategy = self.dags.strategy
        self.num_ordinary = args.num_ordinary_tokens
        rng = np.random.default_rng([STREAM_EMBEDDING, args.seed])
        self.embedding = rng.standard_normal((args.vocab_size, args.n_dims)) * args.data_initializer_range
        self.draw_shape = ShapeSampler(args)
        self.h_pool = self._make_h_pool() if args.ablation_fixed_H else None

    # ---- shared objects -------------------------------------------------------------------
    def _make_h_pool(self) -> np.ndarray:
        a = self.args
        size = a.num_unique_H if a.num_unique_H > 0 else a.max_chain_length
        rng = np.random.default_rng([STREAM_H_POOL, a.seed])
        return rng.standard_normal((size, a.H_num_layers, a.n_dims, a.n_dims))

    def fixed_dag(self, n_inputs: int, n_parents: int, chain_length: int) -> np.ndarray:
        return self.dags.fixed_dag(n_inputs, n_parents, chain_length)

    # ---- per-prompt draws -----------------------------------------------------------------
    def draw_parents(self, rng: np.random.Generator, n: int, m: int, c: int) -> np.ndarray:
        return self.dags.draw(rng, n, m, c)

    def draw_processors(self, rng: np.random.Generator, c: int) -> np.ndarray:
        """``(C, L, d, d)`` weights; layer ``l`` maps a row vector ``z`` to ``z @ W[l]``."""
        a = self.args
        if self.h_pool is None:
            return rng.standard_normal((c, a.H_num_layers, a.n_dims, a.n_dims))
        if a.num_unique_H > 0:
            return self.h_pool[rng.integers(0, len(self.h_pool), size=c)]
        return self.h_pool[:c]

    def draw_inputs(self, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        return rng.integers(0, self.num_ordinary, size=(k, n))

    def draw(self, rng: np.random.Generator, keys_only: bool = False) -> tuple:
        """All of a prompt's generator draws, in the documented order: ``(shape, dag, weights,
        inputs)``; ``dag`` is the parents, or with ``keys_only`` the DAG's sort keys."""
        n, m, c, k = shape = self.draw_shape(rng)
        dag = draw_keys(rng, n, c) if keys_only else self.draw_parents(rng, n, m, c)
        return shape, dag, self.draw_processors(rng, c), self.draw_inputs(rng, n, k)

    def sample(self, split: str, index: int) -> PromptGroup:
        """One prompt (a group of one)."""
        return self.sample_groups(split, [index])[0]

    # ---- chain tokens ---------------------------------------------------------------------
    @functools.cached_property
    def scorer(self) -> TokenScorer:
        """The readout over ordinary tokens (reserved ids are never produced)."""
        return TokenScorer(self.embedding[: self.num_ordinary])

    def compute_chains(self, inputs: np.ndarray, parents: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Chain tokens of B prompts of one shape at once.

        inputs ``(B, K, N)``, parents ``(B, C, M)``, weights ``(B, C, L, d, d)`` -> ``(B, K, C)``.
        Where the C step is built, one call per chain position (:meth:`NativeStep.chains`);
        otherwise one tensor operation per chain position and layer, whatever B and K are, in
        sub-batches that keep the gathered ``(B, K, M, d)`` block cache-sized. The same tokens.
        """
        if self.native_step is not None:  # one C call per chain position, where it takes them
            chains = self.native_step.chains(inputs, parents, weights, self.scorer)
            if chains is not None:
                return chains
        b, k, n = inputs.shape
        c, m = parents.shape[1:]
        per_chunk = max(1, SCRATCH_ELEMENTS // (k * m * self.args.n_dims))
        if b > per_chunk:
            parts = [
                self.compute_chains(inputs[i : i + per_chunk], parents[i : i + per_chunk], weights[i : i + per_chunk])
                for i in range(0, b, per_chunk)
            ]
            return np.concatenate(parts)
        nodes = np.empty((b, k, n + c), dtype=np.int64)
        nodes[:, :, :n] = inputs
        # flat position of node 0 of each example: one take per gather instead of fancy indexing
        first = (np.arange(b * k) * (n + c)).reshape(b, k, 1)
        for pos in range(c):
            parent_ids = np.take(nodes.reshape(-1), first + parents[:, pos][:, None, :])  # (B, K, M)
            h = self.step_hidden(parent_ids, weights[:, pos])  # (B, K, d)
            nodes[:, :, n + pos] = self.scorer.argmax(h.reshape(b * k, -1)).reshape(b, k)
        return nodes[:, :, n:]

    @functools.cached_property
    def native_step(self) -> NativeStep | None:
        """The C step rule (:mod:`.native_step`) for this table and activation, or None."""
        return NativeStep.build(self.embedding, self.args.activation)

    def step_hidden(self, parent_tokens: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """``act(mean_p H(E[t_p]))`` of one chain position: the step rule before its argmax.

        parent_tokens ``(B, R, M)`` (R rows, e.g. examples, sharing one processor per batch entry),
        weights ``(B, L, d, d)`` -> ``(B, R, d)``. The one implementation of the rule: chain
        computation and the stepwise verifier both call it. The C step computes the same
        arithmetic where it is built (:mod:`.native_step`); the numpy below is the rule.
        """
        if self.native_step is not None:
            h = self.native_step.hidden(parent_tokens, weights)
            if h is not None:
                return h
        b, r, m = parent_tokens.shape
        # One (M*R x d) @ (d x d) product per batch entry, not one tiny product per row; rows
        # parent-major, so that summing over parents adds contiguous (R x d) blocks.
        z = np.take(self.embedding, parent_tokens.transpose(0, 2, 1), axis=0).reshape(b, m * r, -1)
        layers = weights.shape[1]
        for layer in range(layers):
            z = z @ weights[:, layer]
            if layer < layers - 1:
                z = self.activation(z)
        return self.activation(_sum_parents(z.reshape(b, m, r, -1)) / m)

    def step_tokens(self, parent_tokens: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """The step rule ``f_c``: the chain token one position computes from given parent tokens.

        parent_tokens ``(B, M)``: one row of parent tokens per query (any tokens: the true ones or a
        model's); weights ``(B, L, d, d)``: each query's processor ``H_c``. Returns ``(B,)`` tokens.
        """
        parent_tokens = np.asarray(parent_tokens, dtype=np.int64)
        if not len(parent_tokens):
            return np.empty(0, dtype=np.int64)
        h = self.step_hidden(parent_tokens[:, None, :], np.asarray(weights))
        return self.scorer.argmax(h.reshape(len(parent_tokens), -1))

    # ---- the batch path -------------------------------------------------------------------
    @functools.cached_property
    def native_draws(self) -> NativeDraws | None:
        """The C draws (:mod:`.native_draws`) for this configuration, or None: switched off, not
        built, or a DAG strategy that draws other than through sort keys."""
        a = self.args
        if not (a.ablation_fixed_dag or hasattr(self.dag_strategy, "from_keys")):
            return None
        library = load_library()
        if library is None:
            return None
        if self.h_pool is None:
            pool_size = 0
        else:
            pool_size = len(self.h_pool) if a.num_unique_H > 0 else -1
        choices = [a.choices(name) for name in ShapeSampler.FIELDS]
        weight_shape = (a.H_num_layers, a.n_dims, a.n_dims)
        return NativeDraws(library, choices, self.num_ordinary, weight_shape, not a.ablation_fixed_dag, pool_size)

    def draw_groups(self, split: str, indices: Sequence[int], then: Then | None = None) -> list[PromptGroup]:
        """The draws of prompts ``indices`` of ``split``, grouped by shape (chains not computed).

        Each prompt draws from its own stream (:mod:`.seeding`), in the documented order;
        ``then(rng, slot, K)``, if given, makes the prompt's last draws (the prompt strategy's
        CoT coin flips) and its result is kept in ``PromptGroup.extras``. The C draws run
        where they are built; the numpy draws below give the same numbers.
        """
        if self.native_draws is not None:
            return self._native_groups(split, indices, then)
        # Strategies built on sort keys turn a whole group's keys into parents at once.
        from_keys = None if self.args.ablation_fixed_dag else getattr(self.dag_strategy, "from_keys", None)
        drawn: dict[tuple[int, int, int, int], tuple[list, ...]] = {}
        prefix = (split_stream(split), self.args.seed)
        for slot, rng in enumerate(prompt_generators(prefix, indices)):
            shape, dag, weights, inputs = self.draw(rng, keys_only=from_keys is not None)
            extra = then(rng, slot, shape[3]) if then is not None else None
            for part, value in zip(drawn.setdefault(shape, ([], [], [], [], [])), (slot, dag, weights, inputs, extra)):
                part.append(value)
        groups = []
        for (n, m, _, _), (slots, dags, weights, inputs, extras) in drawn.items():
            parents = from_keys(_stack(dags), n, m) if from_keys else _stack(dags)
            groups.append(PromptGroup(slots, _stack(inputs), parents, _stack(weights), extras))
        return groups

    def _native_groups(self, split: str, indices: Sequence[int], then: Then | None) -> list[PromptGroup]:
        """:meth:`draw_groups` through :class:`NativeDraws` (a few C calls per batch)."""
        groups, rng = [], None
        for drawn in self.native_draws.draw(prefix_words((split_stream(split), self.args.seed)), indices):
            (n, m, c, k), b = drawn.shape, len(drawn.slots)
            if drawn.keys is not None:
                parents = self.dag_strategy.from_keys(drawn.keys, n, m)
            else:
                parents = np.repeat(self.fixed_dag(n, m, c)[None], b, axis=0)
            if drawn.picks is not None:
                weights = self.h_pool[drawn.picks]
            elif drawn.weights is None:
                weights = np.repeat(self.h_pool[None, :c], b, axis=0)
            else:
                weights = drawn.weights
            extras: list = [None] * b
            if then is not None:  # the prompt's last draws, made in Python from where its stream is
                for row, slot in enumerate(drawn.slots):
                    rng = NativeDraws.generator_at(drawn.states[row], rng)
                    extras[row] = then(rng, slot, k)
            groups.append(PromptGroup(drawn.slots, drawn.inputs, parents, weights, extras))
        return groups

    def sample_groups(self, split: str, indices: Sequence[int], then: Then | None = None) -> list[PromptGroup]:
        """:meth:`draw_groups` with the chain tokens computed (numpy, float64 semantics)."""
        groups = self.draw_groups(split, indices, then)
        for group in groups:
            group.chains = self.compute_chains(group.inputs, group.parents, group.weights)
        return groups


def _stack(parts: list[np.ndarray]) -> np.ndarray:
    return parts[0][None] if len(parts) == 1 else np.stack(parts)


def _sum_parents(z: np.ndarray) -> np.ndarray:
    """``(B, M, R, d)`` -> ``(B, R, d)``: parents added one by one in order, as ``np.mean`` over
    them does (bit-identical), each addition over contiguous blocks."""
    total = z[:, 0].copy()
    for parent in range(1, z.shape[1]):
        total += z[:, parent]
    return total
