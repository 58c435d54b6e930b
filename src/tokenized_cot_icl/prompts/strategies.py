"""Prompt strategies: how an example's inputs and chain become tokens (SPEC section 3).

Every example is an unlabelled part (its inputs, with markers) followed by a labelled part
(the chain or the answer, with markers). Rendering is vectorised over the K examples: rows
of one length are laid out in a matrix; in mixed (hybrid) prompts the shorter rows carry a
sentinel that is dropped after flattening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tokenized_cot_icl.core.registry import Registry
from tokenized_cot_icl.data.special_tokens import SpecialTokens

_SENTINEL = -1


@dataclass(frozen=True)
class RenderedPrompt:
    input_ids: np.ndarray  # (T,) int64
    label_mask: np.ndarray  # (T,) bool: True where labels copy input_ids
    cut: int  # the prompt up to the last example's labelled part
    num_cot_examples: int
    num_standard_examples: int


class PromptStrategy:
    needs_special_tokens: bool = False
    needs_recipe: bool = False
    shows_chain: bool | None = None  # True: CoT form, False: standard, None: per example

    def draw_cot_mask(self, rng: np.random.Generator, n_examples: int, cot_prob: float) -> np.ndarray:
        """Which examples show their chain. Only the hybrid strategy consumes randomness."""
        return np.full(n_examples, bool(self.shows_chain))

    def render(
        self, inputs: np.ndarray, chains: np.ndarray, cot_mask: np.ndarray, special: SpecialTokens
    ) -> RenderedPrompt:
        raise NotImplementedError


PROMPT_STRATEGIES: Registry[PromptStrategy] = Registry("prompt_strategy")


def _column(value: int, k: int) -> np.ndarray:
    return np.full((k, 1), value, dtype=np.int64)


def _flatten(unlabelled: np.ndarray, labelled: np.ndarray, prefix: list[int]) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([unlabelled, labelled], axis=1)
    mask = np.zeros(rows.shape, dtype=bool)
    mask[:, unlabelled.shape[1] :] = True
    ids = rows.ravel()
    mask = mask.ravel() & (ids != _SENTINEL)
    keep = ids != _SENTINEL
    ids, mask = ids[keep], mask[keep]
    if prefix:
        ids = np.concatenate([np.asarray(prefix, dtype=np.int64), ids])
        mask = np.concatenate([np.ones(len(prefix), dtype=bool), mask])
    return ids, mask


def _finish(ids: np.ndarray, mask: np.ndarray, last_labelled: int, cot_mask: np.ndarray) -> RenderedPrompt:
    n_cot = int(cot_mask.sum())
    return RenderedPrompt(ids, mask, len(ids) - last_labelled, n_cot, len(cot_mask) - n_cot)


@PROMPT_STRATEGIES.register("standard")
class Standard(PromptStrategy):
    """``x_1..x_N y_C`` per example."""

    shows_chain = False

    def render(self, inputs, chains, cot_mask, special):
        ids, mask = _flatten(inputs, chains[:, -1:], [])
        return _finish(ids, mask, 1, cot_mask)


@PROMPT_STRATEGIES.register("cot")
class ChainOfThought(PromptStrategy):
    """``x_1..x_N y_1..y_C`` per example."""

    shows_chain = True

    def render(self, inputs, chains, cot_mask, special):
        ids, mask = _flatten(inputs, chains, [])
        return _finish(ids, mask, chains.shape[1], cot_mask)


def _special_input_part(inputs: np.ndarray, special: SpecialTokens) -> np.ndarray:
    k = inputs.shape[0]
    return np.concatenate([_column(special.input_start, k), inputs, _column(special.input_end, k)], axis=1)


def _special_answer(chains: np.ndarray, special: SpecialTokens) -> np.ndarray:
    k = chains.shape[0]
    return np.concatenate(
        [_column(special.answer_start, k), chains[:, -1:], _column(special.answer_end, k), _column(special.eos, k)],
        axis=1,
    )


def _special_labelled(chains: np.ndarray, cot_mask: np.ndarray, special: SpecialTokens) -> np.ndarray:
    """CoT rows: think_s y_1..y_{C-1} think_e + answer; standard rows: answer + sentinels."""
    k, c = chains.shape
    answer = _special_answer(chains, special)
    if not cot_mask.any():
        return answer
    think = np.concatenate([_column(special.think_start, k), chains[:, :-1], _column(special.think_end, k)], axis=1)
    cot_rows = np.concatenate([think, answer], axis=1)
    if cot_mask.all():
        return cot_rows
    standard_rows = np.concatenate([answer, np.full((k, c + 1), _SENTINEL, dtype=np.int64)], axis=1)
    return np.where(cot_mask[:, None], cot_rows, standard_rows)


class _SpecialTokenStrategy(PromptStrategy):
    needs_special_tokens = True

    def render(self, inputs, chains, cot_mask, special):
        labelled = _special_labelled(chains, cot_mask, special)
        ids, mask = _flatten(_special_input_part(inputs, special), labelled, [special.bos])
        last_labelled = int((labelled[-1] != _SENTINEL).sum())
        return _finish(ids, mask, last_labelled, cot_mask)


@PROMPT_STRATEGIES.register("standard_special_token")
class StandardSpecialToken(_SpecialTokenStrategy):
    """``bos`` then ``in_s x.. in_e ans_s y_C ans_e eos`` per example."""

    shows_chain = False


@PROMPT_STRATEGIES.register("cot_special_token")
class CotSpecialToken(_SpecialTokenStrategy):
    """``bos`` then ``in_s x.. in_e think_s y_1..y_{C-1} think_e ans_s y_C ans_e eos`` per example."""

    shows_chain = True


@PROMPT_STRATEGIES.register("hybrid_special_token")
class HybridSpecialToken(_SpecialTokenStrategy):
    """Each example in the CoT form with probability p (from the CoT recipe), else standard."""

    needs_recipe = True
    shows_chain = None

    def draw_cot_mask(self, rng, n_examples, cot_prob):
        return rng.random(n_examples) < cot_prob


def get_strategy(name: str) -> PromptStrategy:
    return PROMPT_STRATEGIES.get(name)()
