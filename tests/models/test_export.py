"""``cot-icl export-model``: runs saved without a tokenizer gain one; weights and manifests stay intact."""

from __future__ import annotations

import os

import pytest
from transformers import AutoTokenizer, GenerationConfig

from tests.helpers import SERVED_DATA, make_run_dir, tiny_args
from tokenized_cot_icl.cli import main
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE, DamagedFileError, read_manifest, verify_directory
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.foundation.run_lock import RunLock, RunLockedError
from tokenized_cot_icl.models import export as export_module
from tokenized_cot_icl.models.export import export_run
from tokenized_cot_icl.models.files import MODEL_FILES, default_max_new_tokens

ARGS = tiny_args(SERVED_DATA)


@pytest.fixture
def old_run(tmp_path):
    """A run as saved before model directories held a tokenizer (weights, config, manifest, marker)."""
    return make_run_dir(tmp_path / "run", ARGS, steps=(2,))


def _weights(directory):
    path = directory / "model.safetensors"
    return path.stat().st_ino, path.read_bytes()


def test_every_model_directory_gains_its_files_with_weights_and_manifest_intact(old_run, capsys):
    run = RunDir(old_run)
    dirs = [run.final_dir, run.checkpoint_dir(2)]
    before = {d: (_weights(d), read_manifest(d)) for d in dirs}
    assert main(["export-model", str(old_run)]) == 0
    assert capsys.readouterr().out.count("MANIFEST.json updated") == 2
    for d in dirs:
        (inode, weights), manifest = before[d]
        assert _weights(d) == (inode, weights)  # the same file: linked, never rewritten
        assert verify_directory(d) and set(read_manifest(d)) == set(manifest) | set(MODEL_FILES)
        assert all(read_manifest(d)[name] == manifest[name] for name in manifest if name not in MODEL_FILES)
        tokenizer = AutoTokenizer.from_pretrained(d)
        generation = GenerationConfig.from_pretrained(d)
        assert generation.eos_token_id == tokenizer.eos_token_id == run.read_args().vocab_size - 3
        assert generation.max_new_tokens == default_max_new_tokens(ARGS)
        assert not list(old_run.rglob(".*.partial")) and not list(old_run.rglob(".*.replaced"))
    assert export_run(old_run)[0].added == ()  # a second run changes nothing


def test_a_damaged_directory_stops_the_command_before_anything_changes(old_run):
    weights = old_run / "checkpoints" / "2" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(DamagedFileError, match="model.safetensors"):
        export_run(old_run)
    assert not (old_run / "final_model" / "tokenizer.json").exists()  # checked first, changed none


def test_a_directory_without_a_manifest_gains_the_files_and_stays_unverified(old_run):
    final = old_run / "final_model"
    for name in (MANIFEST_FILE, "COMPLETE", "identity.json"):
        (final / name).unlink()  # a final_model/ saved before manifests existed
    (result,) = export_run(old_run, "final")
    assert result.added and not result.has_manifest and "stays unverified" in result.line()
    assert not (final / MANIFEST_FILE).exists() and (final / "tokenizer.json").is_file()


def test_a_failure_midway_leaves_the_old_directory_whole(old_run, monkeypatch):
    final = old_run / "final_model"
    listing = sorted(os.listdir(final))

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_module, "write_manifest", fail)
    with pytest.raises(OSError, match="No space left"):
        export_run(old_run, "final")
    assert sorted(os.listdir(final)) == listing and verify_directory(final)
    assert not (old_run / ".final_model.partial").exists()


def test_a_run_being_trained_is_refused(old_run):
    with RunLock(RunDir(old_run).lock_path):
        with pytest.raises(RunLockedError):
            export_run(old_run)
    assert not (old_run / "final_model" / "tokenizer.json").exists()
