"""The chain-token readout ``argmax_v <h, E[v]>`` over the ordinary tokens, exactly, fast.

The reference (SPEC section 2) scores every token in float64 and takes the first maximum.
This module returns the same token while scoring far fewer, in two steps that never change
the answer:

* **Norm pruning.** ``<h, E[v]> <= |h| |E[v]|`` (Cauchy-Schwarz). Tokens are kept sorted by
  norm, largest first; once a row's best score exceeds ``|h| |E[v]|`` for the remaining
  tokens, none of them can win. Stage 1 scores every row against the ``P`` largest-norm
  tokens (``P`` calibrated once per table); stage 2 scores the few rows whose bound is not yet
  settled against the tokens they still need. With a Gaussian table of V=16384 tokens in
  d=10 a row needs ~13% of them on average.
* **float32 scores with a float64 re-check.** A float32 score differs from the float64 one by
  less than ``tol = 4 (d + 4) u |h| max|E[v]|`` (u = 2^-24: rounding of h and E plus d float32
  products and sums, with a safety factor of 2). Each row also tracks its runner-up score;
  where the runner-up is within ``tol`` of the best (near-ties, exact ties, h = 0), the row is
  re-scored over all tokens in float64 exactly as the reference does, so ties still resolve to
  the first token. Elsewhere the float32 winner is the float64 winner.

Small calls (fewer than ``PRUNE_FROM`` scores, e.g. one prompt at V=1024) score every token
directly, in one product of the same dtype over the table in its original order: there the two
stages' fixed cost is larger than what they save. The same runner-up rule applies; with
``dtype=float64`` it uses u = 2^-53, because a batch's matrix product may round a score
differently (by an ulp or two) from the reference's per-row product, so two scores that close
are re-scored the reference's way (``tests/generator/test_scoring.py`` builds such pairs).

**The C kernel** (``readout.c``, :class:`NativeReadout`) applies both rules in one pass per row
for float32 scores: the table in norm order, in blocks of one SIMD register of tokens, each
lane keeping its best, runner-up and position, each row stopping at its own norm bound. No
score is written to memory and there are no stages, so small and large calls take the same
path. Rows it flags near go to :meth:`TokenScorer.reference` as above. It is built on first use
(:mod:`tokenized_cot_icl.foundation.native`); without a compiler, or with ``COT_ICL_NATIVE=0``,
the numpy stages run instead, with the same tokens (the tests run both).
"""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import numpy as np
import torch

from tokenized_cot_icl.foundation import native

U32 = 2.0**-24
U64 = 2.0**-53
BLOCK_ELEMENTS = 1 << 17  # scores per block: 512 KiB in float32, stays in L2
CALIBRATION_ROWS = 512
# Below this many scores per call the two stages' ~40 small numpy calls cost more than they save.
PRUNE_FROM = 1 << 18
STAGE2_BUCKETS = 4
ROWS_PER_BUCKET = 256  # fewer stage-2 rows share one bucket: its calls cost more than its savings
# A stage-2 row's gathers, merges and share of its bucket's calls, in scores. 1024 gives stage-1 widths
# of 608, 1217, 2047 at V = 1024, 4096, 16384, faster on the batch path than 128 did (bench --ideas).
STAGE2_ROW_COST = 1024
KERNEL_SOURCE = Path(__file__).with_name("readout.c")


class TokenScorer:
    """Exact ``argmax`` of ``h @ E.T`` over the rows of ``E`` (the first index on ties).

    With ``use_native`` (the default, unless ``COT_ICL_NATIVE=0``) and float32 scores, the C
    kernel of ``readout.c`` does both steps in one pass per row; the numpy stages below are the
    fallback and give the same tokens (tests run both).
    """

    def __init__(self, table: np.ndarray, dtype: type = np.float32, use_native: bool | None = None) -> None:
        table = np.ascontiguousarray(table, dtype=np.float64)
        self.table = table
        self.size, self.dims = table.shape
        self.dtype = np.dtype(dtype)
        norms = np.sqrt(np.einsum("ij,ij->i", table, table))
        self.order = np.argsort(-norms, kind="stable")
        self.neg_norms = -norms[self.order]  # ascending, for searchsorted
        self.max_norm = float(norms.max(initial=0.0))
        # the direct path's table: original order, so that its first maximum is the reference's
        self._table_t_torch = torch.from_numpy(np.ascontiguousarray(table.T, dtype=self.dtype))
        # |h| times these bound how far a score of this dtype (resp. of any float64 product) can be
        # from the reference's float64 score, with a safety factor of 2
        self.tol_factor = 4 * (self.dims + 4) * (U32 if self.dtype == np.float32 else U64) * self.max_norm
        self.tol64_factor = 4 * (self.dims + 4) * U64 * self.max_norm
        self.dtype_max = float(np.finfo(self.dtype).max)
        # One reused buffer: a fresh score block per call would page-fault on every call.
        self._scratch = np.empty(BLOCK_ELEMENTS, dtype=self.dtype)
        self._sorted_t_torch = torch.from_numpy(np.ascontiguousarray(table[self.order].T, dtype=self.dtype))  # (d, V)
        self.stage1 = self._calibrate()
        # the largest norm stage 1 leaves out (-inf when it scores every token)
        self.stage1_norm = -self.neg_norms[self.stage1] if self.stage1 < self.size else -np.inf
        if use_native is None:
            use_native = native.native_enabled()
        library = native.load(KERNEL_SOURCE) if use_native and self.dtype == np.float32 else None
        self.native = NativeReadout(self, library) if library is not None else None

    def _calibrate(self, row_cost: int = STAGE2_ROW_COST) -> int:
        """Stage-1 width minimising the cost of both stages (scores, plus ``row_cost`` per
        stage-2 row), for random directions."""
        if self.size <= 256:
            return self.size
        rows = np.random.default_rng(0).standard_normal((CALIBRATION_ROWS, self.dims))
        scores = (rows / np.linalg.norm(rows, axis=1, keepdims=True)) @ self.table[self.order].T
        best_width, best_cost = self.size, float(self.size * len(rows))
        for width in np.unique(np.geomspace(self.size / 64, self.size, 25).astype(int)):
            need = np.searchsorted(self.neg_norms, -scores[:, :width].max(axis=1), side="right")
            late = np.sort(need[need > width])
            buckets = np.array_split(late, min(STAGE2_BUCKETS, len(late))) if len(late) else []
            cost = width * len(rows) + sum(len(b) * (int(b[-1]) - width + row_cost) for b in buckets)
            if cost < best_cost:
                best_width, best_cost = int(width), cost
        return best_width

    def argmax(self, h: np.ndarray) -> np.ndarray:
        """Token ids ``(n,)`` for the rows of ``h`` ``(n, d)`` (float64)."""
        if self.native is not None:
            return self.native.argmax(h)
        if len(h) * self.size < PRUNE_FROM:
            return self._direct(h)
        norm = np.sqrt(np.einsum("ij,ij->i", h, h))
        tol = self.tol_factor * norm
        with np.errstate(over="ignore"):  # rows that overflow are settled below
            hs = h.astype(self.dtype, copy=False)
        best, runner, pos = self._top2(hs, self._sorted_t_torch[:, : self.stage1])
        # Tokens past ``need`` have |h| |E[v]| below the best score (less the float32 slack).
        lower = (best - tol) / np.where(norm > 0, norm * (1 + 1e-12), 1.0)
        more, need = self._stage2_rows(lower, norm)
        if len(more) > ROWS_PER_BUCKET:  # stage 2 in buckets of similar need, each to its own largest need
            order = np.argsort(need, kind="stable")
            more, need = more[order], need[order]
            parts = min(STAGE2_BUCKETS, 1 + len(more) // ROWS_PER_BUCKET)
            buckets = list(zip(np.array_split(more, parts), np.array_split(need, parts)))
        else:
            buckets = [(more, need)] if len(more) else []
        for rows, row_need in buckets:
            b2, r2, p2 = self._top2(hs[rows], self._sorted_t_torch[:, self.stage1 : int(row_need.max())])
            old = best[rows]
            runner[rows] = np.maximum(np.minimum(old, b2), np.maximum(runner[rows], r2))
            win = b2 > old
            best[rows[win]], pos[rows[win]] = b2[win], p2[win] + self.stage1
        return self._settle(self.order[pos], h, (runner >= best - tol) | self._unscorable(norm))

    def _stage2_rows(self, lower: np.ndarray, norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows stage 1 leaves unsettled and how many sorted tokens each needs: those with
        a token past stage 1 whose norm is at least the row's ``lower`` bound.

        One comparison with the largest norm stage 1 leaves out finds them; the binary search
        (~80 ns a row, branchy) then runs only for those (~13% of the rows at V=1024).
        """
        more = np.flatnonzero((lower <= self.stage1_norm) & (norm > 0))
        return more, np.searchsorted(self.neg_norms, -lower[more], side="right")

    def _settle(self, out: np.ndarray, h: np.ndarray, near: np.ndarray) -> np.ndarray:
        """Rows whose runner-up is ``near`` the best (near-ties, exact ties, h = 0, where every
        score is 0) get the reference rule itself."""
        rows = np.flatnonzero(near)
        if len(rows):
            out[rows] = self.reference(h[rows])
        return out

    def reference(self, h: np.ndarray) -> np.ndarray:
        """The SPEC rule row by row: the per-row float64 product with every token, first maximum."""
        return np.array([int(np.argmax(self.table @ row)) for row in h], dtype=np.int64)

    def _direct(self, h: np.ndarray) -> np.ndarray:
        """Scores against every token in one product; near-ties settled by the reference rule."""
        with np.errstate(over="ignore"):  # rows that overflow are settled below
            hs = h.astype(self.dtype, copy=False)
        best, runner, pos = self._top2(hs, self._table_t_torch)
        norm = np.sqrt(np.einsum("ij,ij->i", h, h))
        return self._settle(pos, h, (runner >= best - self.tol_factor * norm) | self._unscorable(norm))

    def _unscorable(self, norm: np.ndarray) -> np.ndarray:
        """Rows that are not finite, or that overflow the score dtype (a coordinate above its
        largest value makes |h| larger still): their scores are infinite or NaN."""
        return ~(norm < self.dtype_max)

    def _top2(self, h: np.ndarray, table: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row of ``h``, over the columns of ``table`` ``(d, width)``: best score, runner-up and
        position of the best, in blocks of at most ``BLOCK_ELEMENTS`` scores."""
        n = len(h)
        step = max(1, BLOCK_ELEMENTS // table.shape[1])
        if n <= step:  # one block (dataset[i]'s rows, few stage-2 rows): no copies into result arrays
            return self._block_top2(h, table)
        best, runner, pos = np.empty(n), np.empty(n), np.empty(n, dtype=np.int64)
        for start in range(0, n, step):
            stop = min(n, start + step)
            best[start:stop], runner[start:stop], pos[start:stop] = self._block_top2(h[start:stop], table)
        return best, runner, pos

    def _block_top2(self, h: np.ndarray, table_t: torch.Tensor) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_top2` of one block (at most ``BLOCK_ELEMENTS`` scores), scored in the scratch buffer."""
        n, width = len(h), table_t.shape[1]
        scores = self._scratch[: n * width].reshape(n, width)
        # torch's float32 GEMM is ~1.5x numpy's (OpenBLAS) for these k=10 products
        torch.mm(torch.from_numpy(h), table_t, out=torch.from_numpy(scores))
        pos, best, runner = _first_two(scores, np.arange(n) * width)
        return best, runner, pos


def _first_two(scores: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of a C-contiguous ``scores`` block (rows start at ``offsets`` of its flat view): the
    position of the first maximum, the maximum and the runner-up. Overwrites the maxima.

    argmax is the fastest reduction here (numpy's max over rows is ~3x slower), so the runner-up
    is a second argmax after masking the best.
    """
    flat = scores.reshape(-1)
    pos = scores.argmax(axis=1)
    at = offsets + pos
    best = flat[at]
    flat[at] = -np.inf
    return pos, best, flat[offsets + scores.argmax(axis=1)]


def _aligned(values: np.ndarray, dtype: type, alignment: int = 64) -> np.ndarray:
    """A C-contiguous copy of ``values`` starting on an ``alignment``-byte boundary: numpy aligns
    buffers to 16 bytes, and a 64-byte SIMD load from an unaligned table straddles two cache lines
    (the readout ran ~1.3x slower so)."""
    size = values.size * np.dtype(dtype).itemsize
    raw = np.empty(size + alignment, dtype=np.uint8)
    start = -raw.ctypes.data % alignment
    out = raw[start : start + size].view(dtype).reshape(values.shape)
    out[...] = values
    return out


class _Table(ctypes.Structure):
    """``readout_table`` of readout.c."""

    _fields_ = [
        ("blocks", ctypes.c_void_p),
        ("bias", ctypes.c_void_p),
        ("block_norm", ctypes.c_void_p),
        ("order", ctypes.c_void_p),
        ("dims", ctypes.c_int64),
        ("n_blocks", ctypes.c_int64),
        ("tol_factor", ctypes.c_double),
    ]


class NativeReadout:
    """The C kernel's view of a scorer's table: norm-sorted blocks of one SIMD register of tokens
    each, d-major within a block, padded to whole groups of blocks with zero tokens whose score a
    per-token bias forces to -inf.

    Rows go in and tokens come out through buffers owned by the calling thread, whose addresses
    are looked up once (``ndarray.ctypes.data`` costs ~2 us a call, as much as scoring 40 rows).
    """

    def __init__(self, scorer: TokenScorer, library: ctypes.CDLL) -> None:
        self.scorer = scorer
        self.kernel = library.readout_argmax
        ptr = ctypes.c_void_p
        self.kernel.restype = ctypes.c_int64
        self.kernel.argtypes = [ptr, ptr, ctypes.c_int64, ptr, ptr]
        for name in ("readout_lanes", "readout_group_tokens"):
            getattr(library, name).restype = ctypes.c_int64
        lanes, group = library.readout_lanes(), library.readout_group_tokens()
        self.lanes = lanes  # the table's layout: a library reading it must have the same
        padded = -(-scorer.size // group) * group
        n_blocks = padded // lanes
        table = np.zeros((padded, scorer.dims))
        table[: scorer.size] = scorer.table[scorer.order]
        blocks = _aligned(table.reshape(n_blocks, lanes, -1).transpose(0, 2, 1), np.float32)
        bias = np.full(padded + lanes, -np.inf, dtype=np.float32)
        bias[: scorer.size] = 0.0
        bias = _aligned(bias, np.float32)
        norms = np.zeros(padded)
        norms[: scorer.size] = -scorer.neg_norms
        block_norm = np.ascontiguousarray(norms[::lanes])
        order = np.zeros(padded, dtype=np.int64)
        order[: scorer.size] = scorer.order
        self._arrays = (blocks, bias, block_norm, order)  # the table points into these: keep them alive
        self._table = _Table(*(a.ctypes.data for a in self._arrays), scorer.dims, n_blocks, scorer.tol_factor)
        self._table_ptr = ctypes.addressof(self._table)
        self._local = threading.local()

    @property
    def table_address(self) -> int:
        """The address of the kernel's ``readout_table`` (valid while this object lives), for C
        callers of ``readout_argmax`` (``step.c``)."""
        return self._table_ptr

    def _buffers(self, n: int) -> tuple:
        """This thread's ``(rows, tokens, near, addresses)`` buffers, for at least ``n`` rows."""
        buffers = getattr(self._local, "buffers", None)
        if buffers is None or len(buffers[0]) < n:
            size = max(n, 256)
            rows = np.empty((size, self.scorer.dims))
            tokens, near = np.empty(size, dtype=np.int64), np.empty(size, dtype=np.bool_)
            buffers = self._local.buffers = (rows, tokens, near, rows.ctypes.data, tokens.ctypes.data, near.ctypes.data)
        return buffers

    def argmax(self, h: np.ndarray) -> np.ndarray:
        n, dims = h.shape
        if dims != self.scorer.dims:
            raise ValueError(f"rows have {dims} dims; the table has {self.scorer.dims}")
        rows, tokens, near, rows_at, tokens_at, near_at = self._buffers(n)
        rows[:n] = h
        n_near = self.kernel(self._table_ptr, rows_at, n, tokens_at, near_at)
        out = tokens[:n].copy()
        return self.scorer._settle(out, h, near[:n]) if n_near else out
