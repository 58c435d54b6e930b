"""Evaluation refuses damaged or incomplete files with one line naming the file and what to do.

Driven through the evaluator's real command line (``evaluate_cli.main``, what the three
``inference/*/evaluator.py`` scripts and ``cot-icl eval`` run); every case stops before an engine.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.helpers import SERVED_DATA, make_run_dir, tiny_args
from tokenized_cot_icl.data.storage import ARRAYS_FILE, MANIFEST, META_FILE
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE
from tokenized_cot_icl.foundation.run_dir import COMPLETE_MARKER
from tokenized_cot_icl.inference.evaluate_cli import main as evaluator_main


@pytest.fixture
def run(tmp_path_factory, tiny_run):
    """A private copy of the tiny run (final_model/, checkpoints/2/, eval_set/, with manifests)."""
    copy = tmp_path_factory.mktemp("damaged") / "run"
    shutil.copytree(tiny_run, copy)
    return copy


def evaluate(capsys, run, *extra: str) -> tuple[int, str]:
    code = evaluator_main(["--model_base_dir", str(run), "--max_prompts", "2", *extra], backend="transformers")
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def assert_one_line_error(code: int, out: str, *fragments: str) -> None:
    assert code == 2, out
    (error,) = [line for line in out.splitlines() if "error:" in line]
    for fragment in fragments:
        assert fragment in error, (fragment, error)
    assert "Traceback" not in out


def test_truncated_weights_are_named_with_the_newest_intact_checkpoint(run, capsys):
    weights = run / "final_model" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size // 2)
    code, out = evaluate(capsys, run)
    assert_one_line_error(code, out, str(weights), "truncated", "newest intact checkpoint is '2'", "--checkpoint 2")


def test_truncated_weights_of_a_run_without_manifests_are_named(run, capsys):
    for directory in (run / "final_model", run / "checkpoints" / "2"):
        (directory / MANIFEST_FILE).unlink()  # a run saved before manifests existed
    weights = run / "final_model" / "model.safetensors"
    os.truncate(weights, weights.stat().st_size - 100)
    code, out = evaluate(capsys, run, "--allow-unverified")
    assert_one_line_error(code, out, str(weights), "cannot be read")
    assert f"note: {run / 'final_model'}: unverified weights" in out


def test_weights_overwritten_in_place_are_caught(run, capsys):
    weights = run / "checkpoints" / "2" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1000:] = bytes(1000)
    weights.write_bytes(bytes(data))
    code, out = evaluate(capsys, run, "--checkpoint", "2")
    assert_one_line_error(code, out, str(weights), "SHA-256", "newest intact checkpoint is 'final'")


@pytest.mark.parametrize("where", ["final_model", "checkpoints/2"])
def test_a_directory_without_its_marker_is_never_evaluated(run, capsys, where):
    (run / where / COMPLETE_MARKER).unlink()
    code, out = evaluate(capsys, run, "--checkpoint", "final" if where == "final_model" else "2")
    assert_one_line_error(code, out, "not found", str(run / where), "available:")


def test_one_changed_token_byte_in_the_eval_set_is_caught(run, capsys):
    arrays = run / "eval_set" / ARRAYS_FILE
    data = bytearray(arrays.read_bytes())
    data[-3] ^= 1  # one byte of the token arrays: same size, still parses
    arrays.write_bytes(bytes(data))
    code, out = evaluate(capsys, run)
    assert_one_line_error(code, out, str(arrays), "SHA-256", "delete", "save-eval")


@pytest.mark.parametrize("manifest", [True, False])
def test_eval_set_metadata_without_args_is_named(run, capsys, manifest):
    meta_path = run / "eval_set" / META_FILE
    meta = json.loads(meta_path.read_text())
    del meta["args"]
    meta_path.write_text(json.dumps(meta))
    if not manifest:
        (run / "eval_set" / MANIFEST).unlink()
    code, out = evaluate(capsys, run)
    expected = "its manifest" if manifest else "no 'args' table"
    assert_one_line_error(code, out, str(meta_path), expected)


def test_unwritable_output_dir_fails_before_the_engine(run, capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, out = evaluate(capsys, run, "--output_dir", str(blocker / "results"))
    assert_one_line_error(code, out, "--output-dir", str(blocker))


def test_a_run_saved_before_manifests_evaluates_only_when_allowed_and_says_so(tmp_path, capsys):
    run = make_run_dir(tmp_path / "old", tiny_args(SERVED_DATA), steps=())
    (run / "final_model" / MANIFEST_FILE).unlink()
    (run / "eval_set" / MANIFEST).unlink()
    code, out = evaluate(capsys, run, "--output_dir", str(tmp_path / "results"))
    assert_one_line_error(code, out, str(run / "final_model" / MANIFEST_FILE), "--allow-unverified")
    code, out = evaluate(capsys, run, "--output_dir", str(tmp_path / "results"), "--allow-unverified")
    assert code == 0, out
    assert "unverified weights" in out and f"{run / 'eval_set'} has no {MANIFEST}" in out
    assert "answer-token accuracy" in out
    (summary,) = (tmp_path / "results").glob("*.json")
    assert json.loads(summary.read_text())["verified"] is False
