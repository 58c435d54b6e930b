"""Prompts of any split as text, and back: the dataset's token ids through the configuration's
tokenizer (data.tokenizer), for tools that take text (``pipeline``, vLLM text prompts, TRL).

A rendered prompt has three texts: ``text`` (the whole prompt, every example labelled),
``prompt`` (the prompt cut after the last example's inputs: what a model continues) and
``completion`` (the last example's labelled tokens: the reference continuation). ``prompt``
followed by ``" " + completion`` is ``text``; :func:`text_ids` reads any of them back to the ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tokenized_cot_icl.data.tokenizer import build_tokenizer, decode_ids, encode_text

__all__ = ["TEXT_COLUMNS", "render_text", "text_ids", "text_prompts"]

TEXT_COLUMNS = ("prompt", "completion")


def render_text(item: Mapping[str, Any], tokenizer) -> dict[str, str]:
    """``{"text", "prompt", "completion"}`` of a dataset item (data.items.Item)."""
    cot_eval = item["cot_eval"]
    return {
        "text": decode_ids(tokenizer, item["input_ids"].tolist()),
        "prompt": decode_ids(tokenizer, cot_eval["input_ids"].tolist()),
        "completion": decode_ids(tokenizer, cot_eval["last_example_cot"].tolist()),
    }


def text_ids(text: str, tokenizer) -> list[int]:
    """The token ids of a rendered text (nothing added: no bos, no eos)."""
    return encode_text(tokenizer, text)


def text_prompts(args, split: str = "train", indices: Iterable[int] = range(8)) -> list[dict[str, str]]:
    """``Args`` -> rendered prompts ``indices`` of ``split`` (``train`` or ``eval``)."""
    from tokenized_cot_icl.data.dataset import TokenizedDataset

    dataset, tokenizer = TokenizedDataset(args, split=split), build_tokenizer(args)
    return [render_text(dataset[i], tokenizer) for i in indices]
