import hashlib
import subprocess
import sys

import pytest
import torch
from torch.utils.data import DataLoader

from tests.helpers import README_ARGS
from tokenized_cot_icl.core.args import IGNORE_INDEX, Args
from tokenized_cot_icl.core.data import EvalTokenizedDataset, LeftPadCollator, TokenizedDataset, collate_batch


def _digest(dataset, indices):
    h = hashlib.sha256()
    for i in indices:
        item = dataset[i]
        for key in ("input_ids", "labels", "adj_list"):
            h.update(item[key].numpy().tobytes())
    return h.hexdigest()


def test_readme_example_structure():
    dataset = TokenizedDataset(args=Args(**README_ARGS))
    item = dataset[0]
    assert {"input_ids", "attention_mask", "labels", "adj_list", "cot_eval"} <= set(item)
    assert item["input_ids"].shape == (7,) and item["attention_mask"].tolist() == [1] * 7
    assert item["labels"][:4].tolist() == [IGNORE_INDEX] * 4
    assert item["labels"][4:].tolist() == item["input_ids"][4:].tolist()
    assert item["adj_list"].shape == (3, 2)
    assert set(item["cot_eval"]) == {"input_ids", "attention_mask", "last_example_cot"}
    assert item["cot_eval"]["input_ids"].tolist() == item["input_ids"][:4].tolist()
    assert item["cot_eval"]["last_example_cot"].tolist() == item["input_ids"][4:].tolist()
    assert len(dataset) == 10
    # parents of chain token c are earlier nodes, distinct
    for c, row in enumerate(item["adj_list"].tolist()):
        assert len(set(row)) == 2 and all(p < 4 + c for p in row)


def test_items_are_pure_functions_of_args_split_index():
    args = Args(vocab_size=128, n_examples=6, prompt_strategy="cot", n_tasks=64, n_eval_tasks=16)
    a, b = TokenizedDataset(args), TokenizedDataset(args)
    forward = _digest(a, range(64))
    assert forward == _digest(b, range(64))
    assert [a[i]["input_ids"].tolist() for i in reversed(range(64))][::-1] == [
        b[i]["input_ids"].tolist() for i in range(64)
    ]
    assert forward != _digest(TokenizedDataset(args.replace(seed=43)), range(64))
    assert _digest(TokenizedDataset(args, "eval"), range(16)) != _digest(a, range(16))
    assert _digest(TokenizedDataset(args, "eval"), range(16)) != _digest(
        TokenizedDataset(args.replace(seed=43), "eval"), range(16)
    )


@pytest.mark.slow  # starts a Python interpreter: kept out of `make test-fast`
def test_same_items_in_another_process():
    args = Args(vocab_size=128, n_examples=6, prompt_strategy="cot", n_tasks=32)
    code = (
        "from tokenized_cot_icl.core.args import Args;"
        "from tokenized_cot_icl.core.data import TokenizedDataset;"
        "from tests.data.test_dataset import _digest;"
        f"print(_digest(TokenizedDataset(Args.from_json({args.to_json()!r})), range(32)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _digest(TokenizedDataset(args), range(32))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_workers_do_not_change_batches(num_workers):
    args = Args(vocab_size=128, n_examples=(3, 5), prompt_strategy="cot", n_tasks=40)
    dataset = TokenizedDataset(args)
    loader = DataLoader(dataset, batch_size=8, num_workers=num_workers, collate_fn=LeftPadCollator(0))
    expected = [collate_batch([dataset[i] for i in range(s, s + 8)], 0) for s in range(0, 40, 8)]
    for got, want in zip(loader, expected):
        assert torch.equal(got["input_ids"], want["input_ids"])
        assert torch.equal(got["labels"], want["labels"])


def test_collate_left_pads():
    args = Args(vocab_size=64, n_examples=(1, 3), prompt_strategy="cot", n_tasks=8)
    items = [TokenizedDataset(args)[i] for i in range(8)]
    batch = collate_batch(items, pad_id=5)
    width = max(len(it["input_ids"]) for it in items)
    for row, item in enumerate(items):
        pad = width - len(item["input_ids"])
        assert batch["input_ids"][row, :pad].tolist() == [5] * pad
        assert batch["attention_mask"][row, :pad].sum() == 0 and batch["attention_mask"][row, pad:].all()
        assert (batch["labels"][row, :pad] == IGNORE_INDEX).all()
        assert torch.equal(batch["input_ids"][row, pad:], item["input_ids"])
        assert torch.equal(batch["cot_eval"]["last_example_cot"][row], item["cot_eval"]["last_example_cot"])
    assert batch["num_cot_examples"].tolist() == [it["num_cot_examples"] for it in items]


def test_index_errors_are_clear():
    dataset = TokenizedDataset(Args(n_tasks=3))
    with pytest.raises(IndexError, match="out of range for the train split of 3"):
        dataset[3]
    assert torch.equal(dataset[-1]["input_ids"], dataset[2]["input_ids"])
    with pytest.raises(IndexError, match="out of range"):
        EvalTokenizedDataset(Args(n_eval_tasks=2), progress=False)[2]


def test_reserved_ids_never_produced():
    args = Args(
        vocab_size=20,
        n_dims=3,
        prompt_strategy="cot_special_token",
        enable_special_tokens=True,
        n_examples=10,
        activation="relu",
        n_tasks=50,
    )
    dataset = TokenizedDataset(args)
    for i in range(50):
        item = dataset[i]
        ordinary = item["cot_eval"]["last_example_cot"][1:-5]
        assert (ordinary < 11).all()
        assert item["input_ids"][0] == 18  # bos
        assert item["cot_eval"]["last_example_cot"][-3] < 11  # the answer


def test_hybrid_recipe_sets_cot_share():
    recipe = {"type": "constant", "prob": 0.25}
    args = Args(
        vocab_size=64,
        prompt_strategy="hybrid_special_token",
        enable_special_tokens=True,
        cot_example_prob_recipe_info=recipe,
        n_examples=20,
        n_tasks=100,
    )
    dataset = TokenizedDataset(args)
    cot = sum(dataset[i]["num_cot_examples"] for i in range(100))
    assert 0.2 < cot / 2000 < 0.3
    never = TokenizedDataset(args.replace(cot_example_prob_recipe_info={"type": "power_law", "alpha": float("inf")}))
    assert sum(never[i]["num_cot_examples"] for i in range(100)) == 0
