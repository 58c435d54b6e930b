"""The step rule in C (``step.c``): hidden states, and whole chain positions with their readout.

numpy spends ~10 us a prompt on the hidden states at the seed defaults, nearly all of it in
per-call overhead: a gather, one small batched product per layer, the parent sum and the
activation over arrays of a few thousand numbers. ``step.c`` does the same arithmetic in the
same order, row by row (its header says how it rounds), and :meth:`NativeStep.chains` runs a
whole chain position in one call: the parents' gather, the hidden states and the readout of
``readout.c`` (linked into the same library), leaving to Python only the rare rows the readout
flags near, settled by :meth:`TokenScorer.reference` as everywhere.

It runs for the activations it knows (identity, relu, leaky_relu) and d up to
``step_max_dims()``; other activations, one-row products (numpy's matrix-vector product rounds
differently), tokens or parents out of range go through numpy. It is built on first use
(:mod:`tokenized_cot_icl.foundation.native`); without a compiler, or with ``COT_ICL_NATIVE=0``,
numpy computes every step.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from tokenized_cot_icl.foundation import native
from tokenized_cot_icl.generator.activations import LEAKY_RELU_SLOPE
from tokenized_cot_icl.generator.scoring import KERNEL_SOURCE as READOUT_SOURCE
from tokenized_cot_icl.generator.scoring import TokenScorer

SOURCE = Path(__file__).with_name("step.c")
ACTIVATION_CODES = {"identity": 0, "relu": 1, "leaky_relu": 2}  # step.c's enum
F64 = 8  # bytes


class NativeStep:
    """The step rule of one embedding table and activation in C; :meth:`hidden` and
    :meth:`chains` return None where numpy must compute instead."""

    def __init__(self, library: ctypes.CDLL, embedding: np.ndarray, activation: str) -> None:
        self.embedding = np.ascontiguousarray(embedding, dtype=np.float64)
        self.vocab, self.dims = self.embedding.shape
        self.activation = ACTIVATION_CODES[activation]
        i64, ptr, f64 = ctypes.c_int64, ctypes.c_void_p, ctypes.c_double
        self._hidden = library.step_hidden
        self._hidden.restype = i64
        self._hidden.argtypes = [ptr, i64, i64, ptr, i64, i64, i64, ptr, i64, i64, i64, f64, ptr]
        self._position = library.chain_position
        self._position.restype = i64
        self._position.argtypes = [ptr, i64, i64, ptr, i64, i64, i64, i64, ptr, i64, i64, ptr, i64, i64, i64, f64]
        self._position.argtypes += [ptr, ptr, ptr]
        self._embedding_at = self.embedding.ctypes.data
        library.readout_lanes.restype = i64
        self.readout_lanes = library.readout_lanes()  # its readout.c reads tables of this layout

    @classmethod
    def build(cls, embedding: np.ndarray, activation: str) -> NativeStep | None:
        """The C step for this table and activation, or None: an activation or a d it does not
        handle, switched off, or not built."""
        if activation not in ACTIVATION_CODES:
            return None
        library = native.load(SOURCE, (str(READOUT_SOURCE),))
        if library is None:
            return None
        library.step_max_dims.restype = ctypes.c_int64
        if embedding.shape[1] > library.step_max_dims():
            return None
        return cls(library, embedding, activation)

    def _weights(self, weights: np.ndarray, lead: int) -> np.ndarray:
        """weights whose trailing (L, d, d) blocks are contiguous float64, the ``lead`` axes
        before them any whole number of elements apart (views such as ``weights[:, pos]`` pass)."""
        d = self.dims
        inner = (d * d * F64, d * F64, F64)
        if weights.dtype != np.float64 or weights.strides[lead:] != inner or any(s % F64 for s in weights.strides):
            return np.ascontiguousarray(weights, dtype=np.float64)
        return weights

    def hidden(self, parent_tokens: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        """``(B, R, d)`` hidden states of parent_tokens ``(B, R, M)`` under weights ``(B, L, d, d)``,
        or None where numpy must compute them (one row, or a token outside the table)."""
        b, r, m = parent_tokens.shape
        if r * m < 2:  # a one-row product: numpy's matrix-vector path rounds differently
            return None
        if weights.ndim != 4 or weights.shape[0] != b or weights.shape[2:] != (self.dims, self.dims):
            return None  # numpy's product raises its own error
        tokens = np.ascontiguousarray(parent_tokens, dtype=np.int64)
        weights = self._weights(weights, 1)
        out = np.empty((b, r, self.dims))
        failed = self._hidden(
            self._embedding_at,
            self.vocab,
            self.dims,
            native.address(tokens),
            b,
            r,
            m,
            native.address(weights),
            weights.strides[0] // F64,
            weights.shape[1],
            self.activation,
            LEAKY_RELU_SLOPE,
            native.address(out),
        )
        return None if failed else out

    def chains(self, inputs: np.ndarray, parents: np.ndarray, weights: np.ndarray, scorer: TokenScorer):
        """:meth:`ChainGenerator.compute_chains` in one C call per chain position, or None where
        numpy must compute them (see the module docstring; also when ``scorer`` has no C kernel).

        inputs ``(B, K, N)``, parents ``(B, C, M)``, weights ``(B, C, L, d, d)`` -> ``(B, K, C)``.
        """
        b, k, n = inputs.shape
        c, m = parents.shape[1:]
        readout = getattr(scorer, "native", None)
        if readout is None or readout.lanes != self.readout_lanes:  # no C readout, or one built otherwise
            return None
        if k * m < 2 or weights.ndim != 5 or weights.shape[:2] != (b, c):
            return None
        if weights.shape[3:] != (self.dims, self.dims):
            return None
        width, d = n + c, self.dims
        nodes = np.empty((b, k, width), dtype=np.int64)
        nodes[:, :, :n] = inputs
        parents = np.ascontiguousarray(parents, dtype=np.int64)
        weights = self._weights(weights, 2)
        h, near = np.empty((b * k, d)), np.empty(b * k, dtype=np.bool_)
        nodes_at, parents_at, weights_at = native.address(nodes), native.address(parents), native.address(weights)
        h_at, near_at, table_at = native.address(h), native.address(near), readout.table_address
        for pos in range(c):
            n_near = self._position(
                self._embedding_at,
                self.vocab,
                d,
                nodes_at,
                b,
                k,
                width,
                n + pos,
                parents_at + pos * m * F64,
                c * m,
                m,
                weights_at + pos * weights.strides[1],
                weights.strides[0] // F64,
                weights.shape[2],
                self.activation,
                LEAKY_RELU_SLOPE,
                table_at,
                h_at,
                near_at,
            )
            if n_near < 0:
                return None
            if n_near:  # rows whose two best scores are within rounding: the reference's rule
                rows = np.flatnonzero(near)
                nodes.reshape(b * k, width)[rows, n + pos] = scorer.reference(h[rows])
        return nodes[:, :, n:]
