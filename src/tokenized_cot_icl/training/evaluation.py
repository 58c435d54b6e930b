"""In-training evaluation (SPEC section 4): eval loss and free-running decoding of the last example.

Without special tokens the model decodes the last example's C chain tokens (``cot``) or its
answer (``standard``) greedily; accuracy is reported per chain index (the last index is the
answer). With special tokens it decodes up to ``max_pred_tokens`` (stopping at eos) and the
output is scored for answer accuracy (it ends ``ans_s y ans_e eos`` with the right ``y``),
format accuracy (the whole output is a well-formed standard or CoT answer) and the
percentiles of the generated length. Work is sharded over ranks and summed.

Decoding (``training.decoding.decode``) and scoring (``training.scoring``: the metric names
too) are the ones ``cot-icl eval`` uses, so a checkpoint scores the same in both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from tokenized_cot_icl.data.dataset import collate_batch, pad_token_id
from tokenized_cot_icl.data.padding import position_ids
from tokenized_cot_icl.foundation.config import IGNORE_INDEX, Args
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.prompts.strategies import strategy_for
from tokenized_cot_icl.training.decoding import decode
from tokenized_cot_icl.training.distributed import DistributedContext, all_reduce_sum
from tokenized_cot_icl.training.scoring import ScoreTally, score_continuations


def token_loss_sum(model, batch: dict[str, Any], device: torch.device, autocast) -> tuple[float, int]:
    """Summed next-token cross-entropy over labelled tokens, and their count."""
    input_ids = batch["input_ids"].to(device)
    attention_mask = batch["attention_mask"].to(device)
    labels = batch["labels"].to(device)
    with autocast():
        logits = model(
            input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids(attention_mask)
        ).logits
    targets = labels[:, 1:]
    loss = F.cross_entropy(
        logits[:, :-1].float().reshape(-1, logits.size(-1)),
        targets.reshape(-1),
        ignore_index=IGNORE_INDEX,
        reduction="sum",
    )
    return float(loss), int((targets != IGNORE_INDEX).sum())


class FreeRunningScorer:
    """This rank's :class:`ScoreTally` of free-running continuations, summed over ranks by :meth:`metrics`.

    Each continuation is scored by :func:`score_continuations`, as in every offline evaluation.
    """

    def __init__(self, args: Args) -> None:
        self.vocab = Vocab.for_args(args)
        self.strategy = strategy_for(args)
        self.tally = ScoreTally.for_args(args)

    def add(self, generated: list[int], target: list[int], chain_length: int) -> None:
        self.tally.add(score_continuations([generated], target, chain_length, self.strategy, self.vocab))

    def metrics(self, ctx: DistributedContext) -> dict[str, float]:
        summed = all_reduce_sum(ctx, self.tally.counts())
        lengths = [length for part in _gather_lists(ctx, self.tally.lengths) for length in part]
        return self.tally.merged(summed, lengths).metrics()


def _gather_lists(ctx: DistributedContext, values: list[int]) -> list[list[int]]:
    if not ctx.is_distributed:
        return [values]
    import torch.distributed as dist

    out: list[Any] = [None] * ctx.world_size
    dist.all_gather_object(out, values)
    return out


class Evaluator:
    """Eval loss over this rank's shard of the eval split, plus free-running decoding."""

    def __init__(self, args: Args, eval_dataset, ctx: DistributedContext, autocast: Callable) -> None:
        self.args = args
        self.dataset = eval_dataset
        self.ctx = ctx
        self.autocast = autocast
        self.pad_id = pad_token_id(args)
        self.indices = list(range(ctx.rank, len(eval_dataset), ctx.world_size))
        n_generate = min(args.n_eval_generate, len(eval_dataset))
        self.generate_indices = list(range(ctx.rank, n_generate, ctx.world_size))
        self.samples: list[dict[str, Any]] = []

    def _batches(self, indices: list[int]):
        size = self.args.eval_batch_size
        for start in range(0, len(indices), size):
            yield collate_batch([self.dataset[i] for i in indices[start : start + size]], self.pad_id)

    @torch.no_grad()
    def evaluate(self, model) -> dict[str, float]:
        was_training = model.training
        model.eval()
        # Sampling (temperature > 0) must not disturb the training RNG streams.
        with torch.random.fork_rng(devices=[self.ctx.device] if self.ctx.device.type == "cuda" else []):
            torch.manual_seed(self.args.seed + self.ctx.rank)
            metrics = {"eval/loss": self._loss(model), **self._free_running(model)}
        model.train(was_training)
        return metrics

    def _loss(self, model) -> float:
        loss_sum, tokens = 0.0, 0
        for batch in self._batches(self.indices):
            batch_loss, batch_tokens = token_loss_sum(model, batch, self.ctx.device, self.autocast)
            loss_sum += batch_loss
            tokens += batch_tokens
        loss_sum, tokens = all_reduce_sum(self.ctx, [loss_sum, tokens])
        return loss_sum / max(tokens, 1)

    def _free_running(self, model) -> dict[str, float]:
        scorer = FreeRunningScorer(self.args)
        items = [self.dataset[i] for i in self.generate_indices]
        targets = [item["cot_eval"]["last_example_cot"].tolist() for item in items]
        special = Vocab.for_args(self.args).special
        outputs = decode(
            model,
            [item["cot_eval"]["input_ids"].tolist() for item in items],
            # without special tokens: the tokens the format shows (C for cot, 1 for standard)
            max_new_tokens=[self.args.pred_token_budget if special else len(t) for t in targets],
            batch_size=self.args.eval_batch_size,
            temperature=self.args.temperature,
            stop_ids=[special.eos] if special else [],
            pad_id=self.pad_id,
            autocast=self.autocast,
        )
        for (row,), target, item in zip(outputs, targets, items):
            scorer.add(row, target, len(item["adj_list"]))
        self.samples = [
            {"generated": row, "target": t} for (row,), t in zip(outputs[:8], targets)
        ]  # rank 0's are saved
        return scorer.metrics(self.ctx)
