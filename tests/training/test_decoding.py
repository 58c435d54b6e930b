"""The one ``model.generate`` path of every evaluation (trainer and transformers backend)."""

from __future__ import annotations

import torch

from tests.training.helpers import TINY_BASE
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.core.models import create_model
from tokenized_cot_icl.training.decoding import decode, generation_config


def test_sampling_is_untruncated_and_greedy_returns_one_sequence():
    sample = generation_config(5, temperature=0.7, stop_ids=[3], n=4)
    assert (sample.do_sample, sample.top_k, sample.top_p, sample.num_return_sequences) == (True, 0, 1.0, 4)
    assert sample.eos_token_id == [3]
    greedy = generation_config(5, n=4)
    assert (greedy.do_sample, greedy.num_return_sequences, greedy.eos_token_id) == (False, 1, None)


def test_batching_order_and_budgets_do_not_change_greedy_outputs():
    torch.manual_seed(0)
    model = create_model(Args(**TINY_BASE)).eval()
    prompts = [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10], [11, 12, 13, 14]]
    with torch.no_grad():
        alone = [decode(model, [p], max_new_tokens=3, batch_size=1)[0] for p in prompts]
        sorted_batches = decode(model, prompts, max_new_tokens=3, batch_size=2, sort_by_length=True, pad_id=31, n=2)
        budgets = decode(model, prompts, max_new_tokens=[1, 3, 2, 3], batch_size=2)
    assert [len(c) for c in sorted_batches] == [2] * 4  # greedy: the one sequence, n times
    assert [c[0] for c in sorted_batches] == [c[0] for c in alone]
    # a batch decodes its largest budget: (1, 3) -> 3 tokens, (2, 3) -> 3 tokens
    assert [c[0] for c in budgets] == [c[0] for c in alone]
