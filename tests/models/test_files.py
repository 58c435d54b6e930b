"""A model directory with its tokenizer and generation config: ``pipeline("text-generation")``
continues a dataset prompt given as text, exactly as ``generate`` continues its token ids."""

from __future__ import annotations

import torch
from transformers import GenerationConfig, pipeline

from tests.helpers import SERVED_DATA, make_run_dir, tiny_args
from tokenized_cot_icl.data.dataset import TokenizedDataset
from tokenized_cot_icl.data.text import render_text, text_ids
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.models.files import generation_settings, write_model_files


def test_pipeline_continues_a_dataset_prompt_given_as_text(tmp_path):
    args = tiny_args(SERVED_DATA)
    final = make_run_dir(tmp_path / "run", args, steps=()) / "final_model"
    write_model_files(args, final)
    generator = pipeline("text-generation", model=str(final), device="cpu")
    item = TokenizedDataset(args, split="eval")[0]
    prompt = render_text(item, generator.tokenizer)["prompt"]
    ids = item["cot_eval"]["input_ids"]
    assert text_ids(prompt, generator.tokenizer) == ids.tolist()

    (out,) = generator(prompt, return_full_text=False, skip_special_tokens=False)
    with torch.no_grad():
        expected = generator.model.generate(ids[None], attention_mask=torch.ones_like(ids)[None])[0, len(ids) :]
    assert text_ids(out["generated_text"], generator.tokenizer) == expected.tolist()
    assert out["generated_text"].startswith(" ")  # prompt + continuation is the whole sequence's text
    assert len(expected) <= args.pred_token_budget  # generation_config.json's budget, ending at eos


def test_generation_config_names_eos_and_pad_or_the_exact_budget_without_them(tmp_path):
    special = tiny_args(SERVED_DATA)
    write_model_files(special, tmp_path / "special")
    config = GenerationConfig.from_pretrained(tmp_path / "special")
    ids = SpecialTokens.for_vocab(special.vocab_size)
    assert (config.eos_token_id, config.pad_token_id, config.bos_token_id) == (ids.eos, ids.pad, ids.bos)
    assert config.max_new_tokens == special.pred_token_budget and config.do_sample is False

    plain = tiny_args()  # the cot strategy without special tokens: the chain, its last token the answer
    assert generation_settings(plain) == {"pad_token_id": 0, "do_sample": False, "max_new_tokens": 3}
    assert generation_settings(plain.replace(prompt_strategy="standard"))["max_new_tokens"] == 1
