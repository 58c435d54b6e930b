"""Decoding with a ``transformers`` model: the one ``model.generate`` path of every evaluation.

The trainer's evaluation (``training.evaluation``) and the ``transformers`` inference backend
(``inference.backends.transformers_backend``) both decode through :func:`decode` (the backend's
log-probability requests through :func:`generate_batches`), so the same weights, prompts and
batches give the same continuations on both paths. Prompts are left-padded per batch
(``data.padding``), in the given order or sorted by length (less padding).

Temperature 0 is greedy decoding; a positive temperature samples from the model's distribution
at that temperature, untruncated (``top_k=0``, ``top_p=1`` stated explicitly: ``transformers``
fills unset fields with ``top_k=50``), as vLLM and SGLang do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from tqdm.auto import tqdm
from transformers import GenerationConfig

from tokenized_cot_icl.data.padding import left_pad_with_mask

Continuations = list[list[list[int]]]

__all__ = ["Continuations", "decode", "generate_batches", "generation_config"]


def generation_config(
    max_new_tokens: int,
    *,
    temperature: float = 0.0,
    stop_ids: Sequence[int] = (),
    pad_id: int = 0,
    n: int = 1,
    **outputs: Any,
) -> GenerationConfig:
    """``n`` continuations per prompt (one when greedy: they would be identical) of at most
    ``max_new_tokens`` tokens, ending at the first of ``stop_ids``; ``outputs`` adds output fields
    (``output_logits``, ``return_dict_in_generate``)."""
    sample = temperature > 0
    return GenerationConfig(
        max_new_tokens=max_new_tokens,
        do_sample=sample,
        num_return_sequences=n if sample else 1,
        temperature=temperature if sample else None,
        top_k=0 if sample else None,
        top_p=1.0 if sample else None,
        pad_token_id=pad_id,
        eos_token_id=[int(t) for t in stop_ids] or None,
        **outputs,
    )


def generate_batches(
    model,
    prompts: Sequence[Sequence[int]],
    *,
    max_new_tokens: int | Sequence[int],
    batch_size: int,
    temperature: float = 0.0,
    stop_ids: Sequence[int] = (),
    pad_id: int = 0,
    n: int = 1,
    seed: int | None = None,
    sort_by_length: bool = False,
    autocast: Callable[[], Any] = contextlib.nullcontext,
    progress: bool = False,
    **outputs: Any,
) -> Iterator[tuple[list[int], int, Any]]:
    """Yields ``(prompt indices, padded prompt width, model.generate output)`` per batch.

    ``max_new_tokens`` is one budget or one per prompt (a batch decodes the largest of its
    prompts'); ``seed`` seeds torch's generator first (sampling), ``autocast`` wraps each call;
    ``progress`` shows a bar from 4 batches on.
    """
    budgets = [max_new_tokens] * len(prompts) if isinstance(max_new_tokens, int) else list(max_new_tokens)
    order = list(range(len(prompts)))
    if sort_by_length:
        order.sort(key=lambda i: len(prompts[i]))
    size = max(1, batch_size)
    batches = [order[i : i + size] for i in range(0, len(order), size)]
    device = next(model.parameters()).device
    if seed is not None:
        torch.manual_seed(seed)
    bar = tqdm(
        batches, desc="transformers generate", unit="batch", leave=False, disable=not progress or len(batches) < 4
    )
    for batch in bar:
        ids, mask = left_pad_with_mask([prompts[i] for i in batch], pad_id)
        config = generation_config(
            max(budgets[i] for i in batch), temperature=temperature, stop_ids=stop_ids, pad_id=pad_id, n=n, **outputs
        )
        with autocast():
            out = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), generation_config=config)
        yield batch, ids.shape[1], out


def decode(model, prompts: Sequence[Sequence[int]], **options: Any) -> Continuations:
    """``out[i][j]``: continuation ``j`` of ``n`` (``options``: :func:`generate_batches`) of prompt ``i``,
    without the prompt, as ``generate`` returns it (a sequence that stopped early is padded
    with ``pad_id`` to its batch's length)."""
    n = options.get("n", 1)
    out: list[list[list[int]] | None] = [None] * len(prompts)
    for batch, width, generated in generate_batches(model, prompts, **options):
        rows = generated[:, width:].tolist()
        per = len(rows) // len(batch)  # n when sampling, 1 when greedy
        for k, i in enumerate(batch):
            conts = rows[k * per : (k + 1) * per]
            out[i] = conts if per == n else conts * n
    return out  # type: ignore[return-value]
