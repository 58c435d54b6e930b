"""Learned PRM/ORM verifiers: labelled data from the trained fixture run, a short training, quality on
held-out prompts, the TRL export, and the PRM ranking `cot-icl scale` end to end."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from tokenized_cot_icl.cli import main
from tokenized_cot_icl.cli.verifier import KINDS
from tokenized_cot_icl.foundation.manifest import read_manifest
from tokenized_cot_icl.inference import learned_verifiers as lv
from tokenized_cot_icl.inference.verifier_flag import VerifierSpec, parse_verifier


@pytest.fixture(scope="module")
def data_dir(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("verifier") / "data"
    argv = ["verifier", "data", str(trained_run), "--n-prompts", "24", "--samples", "12", "--out", str(out)]
    assert main([*argv, "--format", "trl", "--seed", "1"]) == 0
    return out


@pytest.fixture(scope="module")
def prm_dir(data_dir, trained_run):
    """A PRM started from the policy's weights (the fixture policy gets few steps right: ~4% positives)."""
    out = data_dir.parent / "prm"
    argv = ["verifier", "train", str(trained_run), "--kind", "prm", "--data", str(data_dir), "--out", str(out)]
    assert main([*argv, "--steps", "200", "--init", "policy"]) == 0
    return out


def test_the_data_labels_every_step_and_holds_out_the_last_prompts(data_dir):
    records, meta = lv.read_data(data_dir)
    assert len(records) == 24 * 12 and meta["samples_per_prompt"] == 12
    test = {r["index"] for r in records if r["split"] == "test"}
    assert test == set(range(18, 24))  # the last quarter of the prompts
    for r in records:
        assert len(r["step_positions"]) == len(r["step_labels"]) and set(r["step_labels"]) <= {0, 1}


def test_the_trl_export_has_the_prm_trainer_columns(data_dir):
    table = pq.read_table(data_dir / "trl.parquet")
    assert {"prompt", "completions", "labels"} <= set(table.column_names)
    row = table.slice(0, 1).to_pylist()[0]
    assert isinstance(row["prompt"], str) and len(row["completions"]) == len(row["labels"]) > 0
    assert all(isinstance(x, bool) for x in row["labels"])


def test_a_prm_trained_briefly_ranks_held_out_steps_above_chance(prm_dir, trained_run, tmp_path, capsys):
    assert main(["verifier", "eval", str(prm_dir), str(trained_run)]) == 0  # on its training data's held-out prompts
    result = json.loads((prm_dir / "eval_test.json").read_text())
    assert result["kind"] == "prm" and result["n_prompts"] == 6
    assert result["step"]["auroc"] > 0.5
    assert 0 <= result["step"]["false_positive_rate"] <= 1 and result["step"]["ece"] is not None
    assert "auroc=" in capsys.readouterr().out
    assert read_manifest(prm_dir) is not None
    assert main(["verifier", "eval", str(prm_dir), str(tmp_path)]) == 2  # samples of another run are refused
    assert "not from RUN" in capsys.readouterr().err


def test_transformers_loads_the_verifier_directory_with_the_same_scores(prm_dir, data_dir):
    import torch
    from transformers import AutoModelForTokenClassification

    records = [r for r in lv.read_data(data_dir)[0] if r["split"] == "test"][:8]
    ours, _ = lv.probabilities(lv.load_reward_model(prm_dir)[0], records, "prm")
    model = AutoModelForTokenClassification.from_pretrained(prm_dir).eval()
    ids, mask, lengths = lv._batch(records)
    where, _ = lv._targets(records, lengths, "prm")
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits[..., 0]
    theirs = torch.sigmoid(logits[[w[0] for w in where], [w[1] for w in where]]).tolist()
    assert theirs == pytest.approx(ours, abs=1e-6)
    assert json.loads((prm_dir / "metrics.jsonl").read_text().splitlines()[-1])["step"] == 200


def test_the_flag_reads_a_verifier_directory(prm_dir, tmp_path):
    assert parse_verifier(str(prm_dir)) == VerifierSpec("prm", path=str(prm_dir))
    assert parse_verifier(str(prm_dir)).label == f"prm:{prm_dir}"
    with pytest.raises(ValueError, match="not a verifier directory"):
        parse_verifier(str(tmp_path))
    assert KINDS == lv.KINDS


def test_the_prm_ranks_best_of_n_in_scale(prm_dir, trained_run, tmp_path):
    argv = ["scale", str(trained_run), "--out", str(tmp_path), "--methods", "best_of_n", "--n", "1,2"]
    assert main([*argv, "--max-prompts", "4", "--verifier", str(prm_dir)]) == 0
    records = json.loads((tmp_path / "scaling.json").read_text())
    assert {r["verifier"] for r in records} == {f"prm:{prm_dir}"}
    assert all(r["verifier_scored_tokens_per_prompt"] > 0 for r in records)


def test_an_orm_puts_its_outcome_score_on_the_last_step(data_dir, tmp_path, trained_run):
    from tokenized_cot_icl.inference.target import load_target

    lv.train_verifier(data_dir, "orm", tmp_path / "orm", steps=5)
    target = load_target(trained_run, "final")
    spec = parse_verifier(str(tmp_path / "orm"))
    verifier = spec.build(target.args)
    records, _ = lv.read_data(data_dir)
    from tokenized_cot_icl.inference.options import EvalOptions, build_cases

    cases = build_cases(target.dataset, target.args, EvalOptions(max_prompts=2))
    outputs = [[r["completion_ids"] for r in records if r["index"] == c.index][:2] for c in cases]
    scores = verifier.score(cases, outputs)
    for row in scores:
        for steps in row:
            assert steps[:-1] == [1.0] * (len(steps) - 1) and 0 < steps[-1] < 1


def test_within_prompt_auroc_ranks_each_prompts_candidates_against_each_other():
    # The scores tell the mostly-right prompt 0 from the mostly-wrong prompt 1 (pooled AUROC 9/16) but rank
    # every prompt's wrong candidates above its right ones (within-prompt AUROC 0).
    scores = [0.9, 0.8, 0.85, 0.7, 0.2, 0.15, 0.25, 0.1]
    labels = [0, 1, 1, 1, 0, 0, 0, 1]
    prompts = [0, 0, 0, 0, 1, 1, 1, 1]
    assert lv.within_prompt_auroc(scores, labels, prompts) == 0.0
    assert lv.auroc(scores, labels) == 9 / 16
    assert lv.within_prompt_auroc([0.5, 0.5], [1, 1], [0, 0]) is None  # no prompt has both classes


def test_an_interrupted_training_resumed_equals_an_uninterrupted_one(data_dir, tmp_path):
    import torch
    from safetensors.torch import load_file

    whole, part = tmp_path / "whole", tmp_path / "part"
    lv.train_verifier(data_dir, "prm", whole, steps=6, batch_size=4, log_every=2, progress=False)
    lv.train_verifier(data_dir, "prm", part, steps=4, batch_size=4, log_every=2, progress=False, checkpoint_every=2)
    assert (part / lv.CHECKPOINT_DIR / "state.json").is_file()  # step 2: the run "stopped" after it
    with pytest.raises(ValueError, match="other settings"):
        lv.train_verifier(data_dir, "prm", part, steps=6, batch_size=8, progress=False, resume=True)
    lv.train_verifier(data_dir, "prm", part, steps=6, batch_size=4, log_every=2, progress=False, resume=True)
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(part / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (whole / "metrics.jsonl").read_text() == (part / "metrics.jsonl").read_text()
