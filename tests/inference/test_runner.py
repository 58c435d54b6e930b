"""One evaluation path: the trainer's evaluation and ``cot-icl eval`` give the same numbers under the same names."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from transformers import AutoModelForCausalLM

from tests.helpers import make_run_dir, tiny_args
from tests.training.helpers import SINGLE
from tokenized_cot_icl.data.storage import load_eval_set
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.inference.backends import truncate_at_stop
from tokenized_cot_icl.inference.evaluate_cli import main as evaluator_main
from tokenized_cot_icl.training.evaluation import Evaluator


def offline_results(run: Path, out: Path, n_prompts: int) -> dict:
    """``cot-icl eval RUN`` (transformers backend) on the first ``n_prompts`` of the run's evaluation set."""
    code = evaluator_main([str(run), "--max-prompts", str(n_prompts), "--output-dir", str(out)], backend="transformers")
    assert code == 0
    (summary,) = out.glob("*.json")
    return json.loads(summary.read_text())


def test_a_trained_checkpoint_scores_the_same_in_training_and_offline(trained_run, tmp_path):
    """Special-token prompts: answer accuracy, format accuracy and length percentiles."""
    run = RunDir(trained_run)
    in_training = {k: v for k, v in run.final_metrics().items() if k.startswith("eval/") and k != "eval/loss"}
    results = offline_results(trained_run, tmp_path, run.read_args().n_eval_generate)
    assert results["metrics"] == in_training
    assert in_training["eval/format_accuracy"] > 0.5  # a checkpoint that learned the format: not a vacuous match
    # token for token the same outputs (the trainer keeps its first 8, as generated: cut them at eos)
    eos = SpecialTokens.for_vocab(run.read_args().vocab_size).eos
    samples = json.loads(run.eval_samples_path.read_text().splitlines()[-1])["samples"]
    records = [json.loads(line) for line in (tmp_path / results["records_file"]).read_text().splitlines()]
    assert [truncate_at_stop(s["generated"], [eos], 10**6) for s in samples] == [r["outputs"][0] for r in records]


def test_chain_index_accuracies_are_the_same_in_training_and_offline(tmp_path):
    """Prompts without special tokens, of two chain lengths (padding; index 2 only where C = 3)."""
    args = tiny_args(chain_length=(2, 3), vocab_size=16, n_eval_tasks=24)
    run = make_run_dir(tmp_path / "run", args, seed=3)
    model = AutoModelForCausalLM.from_pretrained(run / "final_model")
    evaluator = Evaluator(args, load_eval_set(run / "eval_set", args), SINGLE, contextlib.nullcontext)
    in_training = {k: v for k, v in evaluator.evaluate(model).items() if k != "eval/loss"}
    results = offline_results(run, tmp_path / "out", len(evaluator.generate_indices))
    assert results["metrics"] == in_training
    assert set(in_training) == {"eval/answer_accuracy", *(f"eval/accuracy_chain_index_{c}" for c in range(3))}
    assert sum(in_training.values()) > 0, "a seed whose random model gets some tokens right: not a vacuous match"


def test_results_keep_their_old_keys(tiny_run, tmp_path):
    results = offline_results(tiny_run, tmp_path, 2)
    assert {"accuracy", "format_accuracy", "n_prompts", "n_correct", "metrics"} <= set(results)
    assert results["accuracy"] == results["metrics"]["eval/answer_accuracy"]
