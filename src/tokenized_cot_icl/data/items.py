"""The typed item every dataset returns, and its one constructor.

An item is a plain dict (so DataLoader's default collation, pickling to workers and
``item["input_ids"]`` keep working) whose keys and types are fixed by the TypedDicts below.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import torch


class CotEval(TypedDict):
    """The prompt cut after the last example's input part, and what the model should continue with."""

    input_ids: torch.Tensor  # (cut,)
    attention_mask: torch.Tensor  # (cut,), all ones
    last_example_cot: torch.Tensor  # (T - cut,): the last example's labelled tokens


class Item(TypedDict):
    """One prompt: tokens, labels (-100 where unlabelled), its DAG and its example counts."""

    input_ids: torch.Tensor  # (T,) int64
    attention_mask: torch.Tensor  # (T,) int64, all ones
    labels: torch.Tensor  # (T,) int64
    adj_list: torch.Tensor  # (C, M) int64 parents of each chain token
    num_cot_examples: int
    num_standard_examples: int
    cot_eval: CotEval


def build_item(
    input_ids: torch.Tensor,
    labels: torch.Tensor,
    adj_list: torch.Tensor,
    cut: int,
    num_cot_examples: int,
    num_standard_examples: int,
    ones: torch.Tensor | None = None,
    cut_views: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> Item:
    """The one constructor of :class:`Item`.

    ``input_ids``, ``labels`` and ``ones`` (the attention mask, ``torch.ones_like(input_ids)`` when
    omitted) may be views of buffers shared by a whole batch: the item only slices them, so the
    batch path pays one tensor allocation per batch instead of several per item. ``cut_views``:
    ``(input_ids[:cut], ones[:cut], input_ids[cut:])`` when the caller has them already (the
    batch path makes them for a whole batch at once; a slice costs ~1.3 us).
    """
    if ones is None:
        ones = torch.ones_like(input_ids)
    if cut_views is None:
        cut_views = (input_ids[:cut], ones[:cut], input_ids[cut:])
    return {
        "input_ids": input_ids,
        "attention_mask": ones,
        "labels": labels,
        "adj_list": adj_list,
        "num_cot_examples": int(num_cot_examples),
        "num_standard_examples": int(num_standard_examples),
        "cot_eval": {"input_ids": cut_views[0], "attention_mask": cut_views[1], "last_example_cot": cut_views[2]},
    }


def check_index(index, n_prompts: int, split: str) -> int:
    """A dataset index as a plain int in ``[0, n_prompts)`` (negative counts from the end)."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"dataset index must be an int; got {type(index).__name__}")
    if index < 0:
        index += n_prompts
    if not 0 <= index < n_prompts:
        raise IndexError(f"index {index} out of range for the {split} split of {n_prompts} prompts")
    return int(index)
