"""Datasets over the generator: on-the-fly training prompts and a materialised eval split."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from tokenized_cot_icl.data.items import Item, build_item
from tokenized_cot_icl.data.padding import left_pad
from tokenized_cot_icl.data.rendering import PromptRenderer, RenderedGroup, in_slot_order
from tokenized_cot_icl.foundation.config import IGNORE_INDEX, Args
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.prompts.strategies import RenderedPrompt

__all__ = [
    "EvalTokenizedDataset",
    "LeftPadCollator",
    "TokenizedDataset",
    "collate_batch",
    "make_item",
    "make_items",
    "pad_token_id",
]


def pad_token_id(args: Args) -> int:
    """The reserved pad id with special tokens; 0 otherwise (padding is masked either way)."""
    return Vocab.for_args(args).pad_id


def make_item(rendered: RenderedPrompt, parents: np.ndarray) -> Item:
    """The item of one prompt rendered by a strategy (hand-built prompts in tests and notebooks)."""
    raw = np.ascontiguousarray(rendered.input_ids, dtype=np.int64)
    return build_item(
        torch.from_numpy(raw),
        torch.from_numpy(np.where(rendered.label_mask, raw, IGNORE_INDEX)),
        torch.from_numpy(np.ascontiguousarray(parents, dtype=np.int64)),
        rendered.cut,
        rendered.num_cot_examples,
        rendered.num_standard_examples,
    )


def make_items(groups: list[RenderedGroup], count: int) -> list[Item]:
    """Items of rendered groups, in slot order, as views of one set of buffers per group.

    One ``torch.from_numpy`` per group instead of several per item (each costs ~8 us here),
    and ``unbind`` makes the per-item views in one call.
    """
    items: list = [None] * count
    for group in groups:
        if len(group.slots) == 1:  # dataset[i]: a row's own tensors cost less than views of a batch
            items[group.slots[0]] = _single_item(group)
            continue
        ids = torch.from_numpy(group.input_ids)
        # numpy's where is ~15x cheaper than torch.where at these sizes
        labels = torch.from_numpy(np.where(group.label_mask, group.input_ids, IGNORE_INDEX))
        ones = torch.ones(ids.shape, dtype=torch.long)
        parents = torch.from_numpy(np.ascontiguousarray(group.parents, dtype=np.int64))
        n_cot, n_standard, cut = group.num_cot_examples, group.num_standard_examples, group.cut
        # the cut's views for the whole group: unbind makes a row's view for less than a slice costs
        cuts = zip(ids[:, :cut].unbind(0), ones[:, :cut].unbind(0), ids[:, cut:].unbind(0))
        rows = zip(group.slots, ids.unbind(0), labels.unbind(0), parents.unbind(0), ones.unbind(0), cuts)
        for slot, row_ids, row_labels, adj, row_ones, views in rows:
            items[slot] = build_item(row_ids, row_labels, adj, cut, n_cot, n_standard, ones=row_ones, cut_views=views)
    return items


def _single_item(group: RenderedGroup) -> Item:
    ids = group.input_ids[0]
    return build_item(
        torch.from_numpy(ids),
        torch.from_numpy(np.where(group.label_mask, ids, IGNORE_INDEX)),
        torch.from_numpy(np.ascontiguousarray(group.parents[0], dtype=np.int64)),
        group.cut,
        group.num_cot_examples,
        group.num_standard_examples,
    )


class TokenizedDataset(Dataset):
    """Prompts generated on the fly; item ``i`` is a pure function of ``(args, split, i)``.

    ``len`` is ``n_tasks`` for the train split and ``n_eval_tasks`` for the eval split.
    ``__getitems__`` is the batch path (DataLoader calls it with a whole batch of indices).
    """

    def __init__(self, args: Args, split: str = "train") -> None:
        n = args.n_tasks if split == "train" else args.n_eval_tasks
        self.args = args
        self.split = split
        self.renderer = PromptRenderer(args, split, n)

    @property
    def generator(self) -> ChainGenerator:
        return self.renderer.generator

    def __len__(self) -> int:
        return self.renderer.n_prompts

    def __getitem__(self, index: int) -> Item:
        return make_items(self.renderer.many([index]), 1)[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Item]:
        return make_items(self.renderer.many(indices), len(indices))


class EvalTokenizedDataset(Dataset):
    """The evaluation split, generated once and held compactly as flat arrays.

    ``arrays`` holds ragged data as flat buffers plus offsets; items are rebuilt as views.
    Chains are kept for every example (also those a standard prompt does not show) so that
    statistics and analyses see the full generator output.
    """

    ARRAY_KEYS = (
        "tokens",
        "token_offsets",
        "label_mask",
        "cut",
        "parents",
        "parent_offsets",
        "parent_shape",
        "chains",
        "chain_offsets",
        "chain_shape",
        "num_cot_examples",
    )

    def __init__(
        self, args: Args, n_tasks: int | None = None, *, arrays: dict[str, np.ndarray] | None = None, progress=True
    ) -> None:
        self.args = args
        if arrays is None:
            arrays = self._materialise(args, n_tasks or args.n_eval_tasks, progress)
        missing = [k for k in self.ARRAY_KEYS if k not in arrays]
        if missing:
            raise ValueError(f"evaluation set arrays are missing {missing}")
        self.arrays = arrays
        self._tokens = torch.from_numpy(arrays["tokens"].astype(np.int64))
        self._labels = torch.where(torch.from_numpy(arrays["label_mask"]), self._tokens, IGNORE_INDEX)
        self._parents = torch.from_numpy(arrays["parents"].astype(np.int64))

    @staticmethod
    def _materialise(args: Args, n: int, progress: bool, chunk: int = 512) -> dict[str, np.ndarray]:
        renderer = PromptRenderer(args, "eval", n)
        tokens, masks, cuts, parents, p_shape, chains, c_shape, n_cot = [], [], [], [], [], [], [], []
        bar = tqdm(total=n, desc="eval set", unit="prompt", disable=not progress, leave=False)
        for start in range(0, n, chunk):
            for group, row in in_slot_order(renderer.many(range(start, min(n, start + chunk)))):
                tokens.append(group.input_ids[row])
                masks.append(group.label_mask)
                cuts.append(group.cut)
                parents.append(group.parents[row].ravel())
                p_shape.append(group.parents[row].shape)
                chains.append(group.chains[row].ravel())
                c_shape.append(group.chains[row].shape)
                n_cot.append(group.num_cot_examples)
            bar.update(min(n, start + chunk) - start)
        bar.close()
        return {
            "tokens": np.concatenate(tokens).astype(np.int32),
            "token_offsets": _offsets(tokens),
            "label_mask": np.concatenate(masks),
            "cut": np.asarray(cuts, dtype=np.int64),
            "parents": np.concatenate(parents).astype(np.int32),
            "parent_offsets": _offsets(parents),
            "parent_shape": np.asarray(p_shape, dtype=np.int64).reshape(-1, 2),
            "chains": np.concatenate(chains).astype(np.int32),
            "chain_offsets": _offsets(chains),
            "chain_shape": np.asarray(c_shape, dtype=np.int64).reshape(-1, 2),
            "num_cot_examples": np.asarray(n_cot, dtype=np.int64),
        }

    def __len__(self) -> int:
        return len(self.arrays["cut"])

    def chains(self, index: int) -> np.ndarray:
        """All chain tokens ``(K, C)`` of prompt ``index``."""
        a = self.arrays
        lo, hi = a["chain_offsets"][index], a["chain_offsets"][index + 1]
        return a["chains"][lo:hi].reshape(a["chain_shape"][index])

    def __getitem__(self, index: int) -> Item:
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for an evaluation set of {n} prompts")
        index %= n
        a = self.arrays
        lo, hi = int(a["token_offsets"][index]), int(a["token_offsets"][index + 1])
        plo, phi = int(a["parent_offsets"][index]), int(a["parent_offsets"][index + 1])
        n_cot = int(a["num_cot_examples"][index])
        n_examples = int(a["chain_shape"][index][0])
        return build_item(
            self._tokens[lo:hi],
            self._labels[lo:hi],
            self._parents[plo:phi].reshape(*a["parent_shape"][index]),
            int(a["cut"][index]),
            n_cot,
            n_examples - n_cot,
        )


def _offsets(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)


def collate_batch(items: list[Item], pad_id: int = 0) -> dict[str, Any]:
    """Left-pads a list of items (pad id, attention 0, label -100) into a batch."""
    return {
        "input_ids": left_pad([it["input_ids"] for it in items], pad_id),
        "attention_mask": left_pad([it["attention_mask"] for it in items], 0),
        "labels": left_pad([it["labels"] for it in items], IGNORE_INDEX),
        "num_cot_examples": torch.tensor([it["num_cot_examples"] for it in items], dtype=torch.long),
        "num_standard_examples": torch.tensor([it["num_standard_examples"] for it in items], dtype=torch.long),
        "adj_list": [it["adj_list"] for it in items],
        "cot_eval": {
            "input_ids": left_pad([it["cot_eval"]["input_ids"] for it in items], pad_id),
            "attention_mask": left_pad([it["cot_eval"]["attention_mask"] for it in items], 0),
            "last_example_cot": [it["cot_eval"]["last_example_cot"] for it in items],
        },
    }


class LeftPadCollator:
    """Picklable collate function for DataLoader workers."""

    def __init__(self, pad_id: int = 0) -> None:
        self.pad_id = pad_id

    def __call__(self, items: list[Item]) -> dict[str, Any]:
        return collate_batch(items, self.pad_id)
