"""Batches generated in-process on a device equal the DataLoader path's training batches."""

import pytest
import torch

from tests.helpers import DEVICES
from tests.training.helpers import TRAIN_KEYS
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.core.data import TokenizedDataset, pad_token_id
from tokenized_cot_icl.data.device_batches import DeviceBatches, resolve_data_device
from tokenized_cot_icl.training.batching import TrainCollator, as_tensors

CONFIGS = [
    dict(prompt_strategy="cot"),
    dict(prompt_strategy="standard", n_inputs=(3, 4, 5), chain_length=(1, 2, 3), cap_parents_to_inputs=True),
    dict(prompt_strategy="cot_special_token", enable_special_tokens=True, n_examples=(3, 6)),
    dict(
        prompt_strategy="hybrid_special_token",
        enable_special_tokens=True,
        cot_example_prob_recipe_info={"type": "constant", "prob": 0.5},
    ),
]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c["prompt_strategy"])
def test_device_batches_equal_collated_dataset_items(config, device):
    args = Args(**{"vocab_size": 300, "n_examples": 6, "n_tasks": 1000, **config})
    indices = [5, 3, 999, 0, 17, 256, 42, 5]
    expected = as_tensors(TrainCollator(pad_token_id(args))(TokenizedDataset(args).__getitems__(indices)))
    batch = DeviceBatches(args, device).batch(indices)
    assert set(batch) == set(TRAIN_KEYS)
    for key in TRAIN_KEYS:
        assert torch.equal(batch[key].cpu(), expected[key]), key


def test_data_device_resolution():
    assert resolve_data_device("auto", torch.device("cpu")) == torch.device("cpu")
    assert resolve_data_device("cpu", torch.device("cpu")) == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="data_device='cuda'"):
            resolve_data_device("cuda", torch.device("cpu"))
