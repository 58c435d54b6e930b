"""Symbolic (word) datasets: item ``i`` of a split is a pure function of ``(SymbolicArgs, split, i)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tokenized_cot_icl.data.items import check_index
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.generator.words import WordGenerator, WordSample
from tokenized_cot_icl.prompts.recipes import cot_probability
from tokenized_cot_icl.prompts.symbolic import Message, build_messages, draw_cot_mask

__all__ = ["SymbolicDataset", "SymbolicItem"]

SymbolicItem = dict[str, Any]


class SymbolicDataset:
    """Prompts of one split generated on the fly; ``len`` is ``n_tasks`` (train) or ``n_eval_tasks``.

    An item holds the chat ``messages`` (the last assistant message is the target), the target's
    ``answer`` and intermediate ``steps``, every example's input and chain words, the DAG and the
    CoT counts.
    """

    def __init__(self, args: SymbolicArgs, split: str = "train") -> None:
        self.args = args
        self.split = split
        self.generator = WordGenerator(args)
        self.generator.prompt_rng(split, 0)  # checks the split name now, not at the first item
        self.n_prompts = args.n_prompts(split)

    def __len__(self) -> int:
        return self.n_prompts

    def cot_probability(self, index: int) -> float:
        return cot_probability(self.args, index, self.n_prompts)

    def check_index(self, index: int) -> int:
        return check_index(index, self.n_prompts, self.split)

    def sample(self, index: int) -> tuple[WordSample, np.ndarray]:
        """The prompt's words and DAG, and which examples are in CoT form."""
        index = self.check_index(index)
        rng = self.generator.prompt_rng(self.split, index)
        sample = self.generator.sample(rng)
        return sample, draw_cot_mask(rng, sample.n_examples, self.cot_probability(index))

    def __getitem__(self, index: int) -> SymbolicItem:
        index = self.check_index(index)
        return _make_symbolic_item(index, *self.sample(index))

    def __getitems__(self, indices: Sequence[int]) -> list[SymbolicItem]:
        return [self[i] for i in indices]


def _make_symbolic_item(index: int, sample: WordSample, cot_mask: np.ndarray) -> SymbolicItem:
    messages: list[Message] = build_messages(sample, cot_mask)
    n_cot = int(np.sum(cot_mask))
    return {
        "index": index,
        "messages": messages,
        "answer": sample.chains[-1][-1],
        "steps": list(sample.chains[-1][:-1]),
        "target_is_cot": bool(cot_mask[-1]),
        "input_words": [list(words) for words in sample.inputs],
        "chain_words": [list(words) for words in sample.chains],
        "adj_list": np.asarray(sample.parents).tolist(),
        "num_cot_examples": n_cot,
        "num_direct_examples": len(cot_mask) - n_cot,
    }
