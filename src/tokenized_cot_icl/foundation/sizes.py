"""Sizes bounded by the machine: the tables a configuration implies, estimated at construction.

A configuration whose tables cannot fit in the machine's memory would otherwise be accepted and
then fail on allocation, far from the field that caused it (or after a run directory was made).
Each estimate here is one table that must exist whole in one process, so each alone is a lower
bound of what the run needs; :func:`check_sizes` refuses the first that exceeds the machine's
physical memory, naming the fields, their values, the estimate and the formula::

    vocab_size=1000000000, n_dims=10: the embedding table E alone needs 80.0 GB (V x d x 8 bytes);
    the machine's memory is 24.6 GB

``n_tasks`` allocates nothing per prompt (items are generated from their index), but the
training sampler draws each epoch's order as one permutation of ``n_tasks`` int64 indices, so
it is bounded by that table (which also keeps every index within int64).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tokenized_cot_icl.foundation.config import Args
    from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs

__all__ = ["SizeEstimate", "args_estimates", "check_sizes", "machine_memory", "symbolic_estimates"]

FLOAT64 = INT64 = 8
FLOAT32 = 4


@functools.cache
def machine_memory() -> int | None:
    """Physical memory in bytes (``os.sysconf``, else psutil); None when neither can tell."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().total)


def gigabytes(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:.1f} GB"


@dataclass(frozen=True)
class SizeEstimate:
    fields: dict[str, object]  # the fields the table grows with, and their values
    what: str  # "the embedding table E"
    n_bytes: int
    formula: str  # "V x d x 8 bytes"
    plural: bool = False  # "the model's parameters alone need"

    def message(self, memory: int) -> str:
        named = ", ".join(f"{k}={v}" for k, v in self.fields.items())
        need = "need" if self.plural else "needs"
        return (
            f"{named}: {self.what} alone {need} {gigabytes(self.n_bytes)} ({self.formula}); "
            f"the machine's memory is {gigabytes(memory)}"
        )


def check_sizes(estimates: list[SizeEstimate], memory: int | None = None) -> None:
    """ValueError naming the first table larger than the machine's memory."""
    memory = machine_memory() if memory is None else memory
    if memory is None:
        return
    for estimate in estimates:
        if estimate.n_bytes > memory:
            raise ValueError(estimate.message(memory))


def model_parameters(args: Args) -> int:
    """Parameters of the decoder families here: embeddings, attention (grouped-query), gated MLP, norms."""
    h, head_dim = args.hidden_size, args.hidden_size // args.num_attention_heads
    attention = 2 * h * h + 2 * h * args.num_key_value_heads * head_dim
    layer = attention + 3 * h * args.intermediate_size + 2 * h
    embeddings = args.vocab_size * h * (1 if args.tie_word_embeddings else 2)
    return embeddings + args.num_hidden_layers * layer + h


def args_estimates(args: Args, positions: int) -> list[SizeEstimate]:
    """The tables of an :class:`Args`; ``positions`` is the longest prompt with its decoding budget."""
    d, chain = args.n_dims, args.max_chain_length
    out = [
        SizeEstimate(
            {"vocab_size": args.vocab_size, "n_dims": d}, "the embedding table E", args.vocab_size * d * FLOAT64,
            "V x d x 8 bytes",
        ),
    ]  # fmt: skip
    if args.ablation_fixed_H:
        pool = args.num_unique_H if args.num_unique_H != -1 else chain
        out.append(
            SizeEstimate(
                {"num_unique_H" if args.num_unique_H != -1 else "chain_length": pool, "H_num_layers": args.H_num_layers,
                 "n_dims": d},
                "the pool of token processors H", pool * args.H_num_layers * d * d * FLOAT64,
                "pool size x H_num_layers x d x d x 8 bytes",
            )
        )  # fmt: skip
    else:
        out.append(
            SizeEstimate(
                {"chain_length": chain, "H_num_layers": args.H_num_layers, "n_dims": d},
                "one prompt's token processors H", chain * args.H_num_layers * d * d * FLOAT64,
                "C x H_num_layers x d x d x 8 bytes", plural=True,
            )
        )  # fmt: skip
    params = model_parameters(args)
    out += [
        SizeEstimate(
            {"vocab_size": args.vocab_size, "hidden_size": args.hidden_size,
             "num_hidden_layers": args.num_hidden_layers, "intermediate_size": args.intermediate_size},
            "the model's parameters", params * FLOAT32,
            f"about {params:,} float32 parameters x 4 bytes, as the model is created on the CPU", plural=True,
        ),
        SizeEstimate(
            {"batch_size": args.batch_size, "vocab_size": args.vocab_size},
            "a training batch's logits", args.batch_size * positions * args.vocab_size * FLOAT32,
            f"batch_size x {positions} positions x V x 4 bytes", plural=True,
        ),
        SizeEstimate(
            {"eval_batch_size": args.eval_batch_size, "vocab_size": args.vocab_size},
            "an evaluation batch's logits", args.eval_batch_size * positions * args.vocab_size * FLOAT32,
            f"eval_batch_size x {positions} positions x V x 4 bytes", plural=True,
        ),
        SizeEstimate(
            {"n_tasks": args.n_tasks}, "the sampler's order of one epoch", args.n_tasks * INT64,
            "a permutation of n_tasks int64 indices, 8 bytes each",
        ),
        SizeEstimate(
            {"n_eval_tasks": args.n_eval_tasks}, "the evaluation set's tokens", args.n_eval_tasks * positions * INT64,
            f"n_eval_tasks x {positions} positions x 8 bytes", plural=True,
        ),
    ]  # fmt: skip
    return out


def symbolic_estimates(args: SymbolicArgs) -> list[SizeEstimate]:
    """One symbolic prompt: its letters (drawn as int64) and its text with every chain word."""
    n, m, k = max(args.choices("n_inputs")), max(args.choices("n_parents")), max(args.choices("n_examples"))
    longest, text = args.word_length, n * args.word_length
    for _ in range(args.max_chain_length):  # a chain word joins the second halves of up to M earlier words
        word = m * (longest - longest // 2)
        longest, text = max(longest, word), text + word
    return [
        SizeEstimate(
            {"word_length": args.word_length, "n_inputs": args.n_inputs, "n_examples": args.n_examples},
            "one prompt's letters", k * n * args.word_length * INT64,
            "n_examples x n_inputs x word_length x 8 bytes, drawn as int64", plural=True,
        ),
        SizeEstimate(
            {"word_length": args.word_length, "n_parents": args.n_parents, "chain_length": args.chain_length},
            "one prompt's text", k * text,
            "n_examples x (input words + chain words, each up to n_parents x half its longest parent) bytes",
        ),
    ]  # fmt: skip
