"""Verifying and scaling a run through `cot-icl verify` and `cot-icl scale`, end to end, and their errors."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tokenized_cot_icl.cli import main

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CARD = REPO / "task_cards" / "eval" / "scaling.toml"


def test_verify_writes_labels_next_to_the_evaluators_results(trained_run, capsys):
    assert main(["verify", str(trained_run), "--backend", "transformers"]) == 0
    out = capsys.readouterr().out
    assert "y1" in out and "unfaithful" in out and "error compounding" in out
    path = Path(out.split("verification: ")[1].split()[0])
    assert path.parent == trained_run / "eval_results" and path.name.endswith("-verification.json")
    data = json.loads(path.read_text())
    results = json.loads((path.parent / data["results_file"]).read_text())
    assert data["answer_accuracy"] == results["accuracy"]  # the evaluator's own greedy outputs, labelled
    assert data["outputs"] == results["n_prompts"] == 24
    records = [json.loads(line) for line in (path.parent / data["records_file"]).read_text().splitlines()]
    assert len(records) == 24 and set(records[0]["samples"][0]) >= {"global_correct", "local_correct", "wrong_parents"}
    assert [row["step"] for row in data["per_step"]] == [0, 1]


def test_scale_with_the_task_card_on_transformers(trained_run, tmp_path, capsys):
    out = tmp_path / "scale"
    argv = ["scale", str(trained_run), "--backend", "transformers", "--task_card", str(CARD), "--max_prompts", "6"]
    assert main([*argv, "--n", "1,4", "--out", str(out)]) == 0
    records = json.loads((out / "scaling.json").read_text())
    methods = _card_methods()
    assert [(r["method"], r["n"]) for r in records] == [(m, n) for m in methods for n in (1, 4)]
    for r in records:
        assert {"method", "n", "accuracy", "generated_tokens_per_prompt", "engine_calls"} <= set(r)
        assert r["n_prompts"] == 6
    assert (out / "scaling.png").stat().st_size > 10_000
    assert "beam_process" in capsys.readouterr().out


def _card_methods():
    import tomllib

    return tomllib.loads(CARD.read_text())["scale"]["methods"]


def test_scale_on_vllm_asks_the_engine_for_every_candidate(trained_run, tmp_path):
    """Expanding each beam to all 55 ordinary tokens of a special-token vocabulary needs 64 log-probabilities
    per step (vLLM's default cap is 20); the exact process verifier then finds every chain."""
    out = tmp_path / "vllm"
    cmd = [sys.executable, "-m", "tokenized_cot_icl.cli", "scale", str(trained_run), "--backend", "vllm"]
    cmd += ["--methods", "majority,beam_process", "--n", "1,2", "--expansion", "55", "--max_prompts", "8"]
    result = subprocess.run(
        [*cmd, "--kv_cache_mib", "128", "--out", str(out)], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    records = json.loads((out / "scaling.json").read_text())
    assert [(r["method"], r["n"]) for r in records] == [
        ("majority", 1),
        ("majority", 2),
        ("beam_process", 1),
        ("beam_process", 2),
    ]
    for beam in records[2:]:
        assert beam["accuracy"] == beam["process_ok_rate"] == 1.0 and beam["engine_calls"] == 2  # C=2: two steps
        assert beam["expansion"] == 55
    assert (out / "scaling.png").is_file()


def test_bad_input_gets_a_clear_message(tiny_run, tmp_path, capsys):
    def error(argv) -> str:
        assert main(argv) == 2
        return capsys.readouterr().err

    out = ["--out", str(tmp_path / "x")]
    assert "unknown scaling method 'best_of_m'" in error(
        ["scale", str(tiny_run), "--methods", "best_of_m", "--n", "2", *out]
    )
    with pytest.raises(SystemExit) as refused:  # a count flag's type refuses 0 before anything runs
        main(["scale", str(tiny_run), "--methods", "majority", "--n", "0", *out])
    assert refused.value.code == 2 and "--n: " in capsys.readouterr().err
    assert "give at least one" in error(["scale", str(tiny_run), *out])
    bare = tmp_path / "no-eval-set"
    shutil.copytree(tiny_run, bare, ignore=shutil.ignore_patterns("eval_set", "eval_results"))
    message = error(["verify", str(bare), "--backend", "transformers"])
    assert "has no saved evaluation set" in message and "--eval-set" in message
    args = json.loads((bare / "args.json").read_text())
    (bare / "args.json").write_text(json.dumps({**args, "vocab_size": 128}))
    message = error(["verify", str(bare), "--backend", "transformers", "--generate_eval_set"])
    # args.json no longer matches the weights: the checkpoint's identity refuses it, naming the field
    assert "another configuration" in message and "vocab_size: checkpoint 64, run 128" in message
    assert "no such run directory" in error(["verify", str(tmp_path / "missing")])
