"""The configuration's tokenizer: every id has one text, every strategy's prompts round-trip
through the saved directory, and the rendered text reads back to the dataset's ids."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from tokenized_cot_icl.data.dataset import TokenizedDataset
from tokenized_cot_icl.data.text import render_text, text_ids, text_prompts
from tokenized_cot_icl.data.tokenizer import build_tokenizer, decode_ids, encode_text, save_tokenizer
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.registries import PROMPT_STRATEGIES
from tokenized_cot_icl.foundation.vocab import SpecialTokens

STRATEGIES = sorted(PROMPT_STRATEGIES)


def _args(strategy: str, **changes) -> Args:
    special = PROMPT_STRATEGIES[strategy].needs_special_tokens
    recipe = {"type": "constant", "prob": 0.5} if PROMPT_STRATEGIES[strategy].needs_recipe else None
    fields = dict(
        vocab_size=40, n_inputs=(2, 3), n_parents=2, chain_length=(1, 3), n_examples=(2, 4), n_dims=6,
        prompt_strategy=strategy, enable_special_tokens=special, cot_example_prob_recipe_info=recipe,
        n_tasks=16, n_eval_tasks=8, max_position_embeddings=256,
    )  # fmt: skip
    return Args(**{**fields, **changes})


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategys_prompts_round_trip_through_the_saved_directory(tmp_path, strategy):
    args = _args(strategy)
    save_tokenizer(args, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert len(tokenizer) == args.vocab_size
    every_id = list(range(args.vocab_size))
    assert encode_text(tokenizer, decode_ids(tokenizer, every_id)) == every_id
    for split in ("train", "eval"):
        dataset = TokenizedDataset(args, split=split)
        for i in range(4):
            item = dataset[i]
            ids = item["input_ids"].tolist()
            assert tokenizer.encode(tokenizer.decode(ids), add_special_tokens=False) == ids
            texts = render_text(item, tokenizer)
            assert text_ids(texts["text"], tokenizer) == ids
            assert texts["prompt"] + " " + texts["completion"] == texts["text"]
            assert text_ids(texts["prompt"], tokenizer) == item["cot_eval"]["input_ids"].tolist()


def test_reserved_ids_are_named_and_only_pad_bos_eos_are_dropped_when_skipping_special_tokens(tmp_path):
    args = _args("cot_special_token")
    special = SpecialTokens.for_vocab(args.vocab_size)
    save_tokenizer(args, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(tmp_path)
    assert (tokenizer.pad_token, tokenizer.bos_token, tokenizer.eos_token) == ("<pad>", "<bos>", "<eos>")
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (
        special.pad, special.bos, special.eos,
    )  # fmt: skip
    ids = [special.bos, special.think_start, 3, special.think_end, special.answer_start, 3, special.answer_end,
           special.eos, special.pad]  # fmt: skip
    assert tokenizer.decode(ids) == " <bos> <think> t3 </think> <answer> t3 </answer> <eos> <pad>"
    assert tokenizer.decode(ids, skip_special_tokens=True) == " <think> t3 </think> <answer> t3 </answer>"
    assert tokenizer("<in>t1 t2</in>", add_special_tokens=False)["input_ids"] == [special.input_start, 1, 2,
                                                                                   special.input_end]  # fmt: skip


def test_without_special_tokens_every_id_is_ordinary_and_no_token_is_special(tmp_path):
    args = _args("cot")
    tokenizer = build_tokenizer(args)
    assert tokenizer.all_special_ids == [] and tokenizer.pad_token is None and tokenizer.eos_token is None
    assert decode_ids(tokenizer, [0, args.vocab_size - 1]) == f"t0 t{args.vocab_size - 1}"
    assert tokenizer.decode([0, 5], skip_special_tokens=True) == " t0 t5"  # t0 pads, yet is a real token
    with pytest.raises(Exception, match="WordLevel"):  # no unk: text outside the vocabulary is refused
        encode_text(tokenizer, f"t{args.vocab_size}")


def test_text_prompts_from_args():
    args = _args("standard")
    prompts = text_prompts(args, "eval", range(2))
    dataset = TokenizedDataset(args, split="eval")
    assert [text_ids(p["text"], build_tokenizer(args)) for p in prompts] == [
        dataset[i]["input_ids"].tolist() for i in range(2)
    ]
