"""The weights check (foundation.weights): every command that loads a model, through its real command line.

Families: weights no manifest verifies (refused by name unless --allow-unverified, then marked),
pickle-format weights (never loaded), a checkpoint of another configuration (refused with both
hashes and the differing fields), a checkpoint removed while it loads (said so).
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.chat_model import make_chat_model_dir
from tests.training.helpers import TINY_BASE, write_card
from tokenized_cot_icl.cli import main
from tokenized_cot_icl.foundation import manifest
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE, write_manifest
from tokenized_cot_icl.foundation.run_dir import RunDir

FIELDS = dict(
    n_tasks=32, checkpoint_every_n_steps=2, eval_every_n_steps=4, log_every_n_steps=2, keep_last_n_checkpoints=3,
    num_workers=0, n_eval_tasks=8, n_eval_generate=4, device="cpu", metric_logger="jsonl",
)  # fmt: skip  # 4 steps of 8 prompts: checkpoints 2 and 4, final_model


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run trained by `cot-icl train` (and its card, to train it again)."""
    root = tmp_path_factory.mktemp("weights")
    card = write_card(root / "card.toml", FIELDS)
    assert main(train_argv(card, root / "runs")) == 0
    return card, root / "runs" / "r"


def train_argv(card: Path, base: Path, *extra: str) -> list[str]:
    return ["train", "--task-card", str(card), "--output-base-dir", str(base), "--run-name", "r", *extra]


@pytest.fixture
def run(trained, tmp_path):
    """A private copy of the trained run (in tmp_path/runs/r)."""
    card, source = trained
    copy = tmp_path / "runs" / "r"
    shutil.copytree(source, copy)
    return card, copy


def edit_weights(directory: Path) -> None:
    """A valid edit (every tensor scaled): the file still parses, only a manifest can tell."""
    path = directory / "model.safetensors"
    save_file({k: v * 1.01 for k, v in load_file(path).items()}, path, metadata={"format": "pt"})


def interrupt_after_step_2(run: Path) -> None:
    """The run as a kill after its step-2 checkpoint leaves it."""
    for name in ("checkpoints/4", "final_model", "final_metrics.json", "eval_results"):
        shutil.rmtree(run / name, ignore_errors=True) if (run / name).is_dir() else (run / name).unlink(missing_ok=True)


def results(out: Path) -> dict:
    (summary,) = [p for p in out.glob("*.json") if not p.name.endswith("-verification.json")]
    return json.loads(summary.read_text())


# (command line, the directory that loses its manifest, what the result written says)
UNVERIFIED = {
    "train (resume)": (lambda card, run, out: train_argv(card, run.parent), "checkpoints/2",
                       lambda run, out: json.loads((run / "final_metrics.json").read_text())["verified"]),
    "eval": (lambda card, run, out: ["eval", str(run), "--max-prompts", "2", "--output-dir", str(out)], "final_model",
             lambda run, out: results(out)["verified"]),
    "verify": (lambda card, run, out: ["verify", str(run), "--checkpoint", "2", "--max-prompts", "2", "--output-dir",
                                       str(out)], "checkpoints/2",
               lambda run, out: json.loads(next(out.glob("*-verification.json")).read_text())["verified"]),
    "attention": (lambda card, run, out: ["attention", str(run), "--n-prompts", "2", "--json", str(out / "a.json")],
                  "final_model", lambda run, out: json.loads((out / "a.json").read_text())["final"]["verified"]),
    "report": (lambda card, run, out: ["report", str(run), "--n-prompts", "2", "--no-checkpoints"], "final_model",
               lambda run, out: "**Unverified weights**" not in (run / "analysis" / "REPORT.md").read_text()),
}  # fmt: skip


@pytest.mark.parametrize("command", UNVERIFIED)
def test_weights_no_manifest_verifies_are_refused_by_name_unless_allowed_and_then_marked(
    run, tmp_path, capsys, command
):
    card, run = run
    argv, target, verified = UNVERIFIED[command]
    out = tmp_path / "out"
    out.mkdir()
    if command.startswith("train"):
        interrupt_after_step_2(run)
    (run / target / MANIFEST_FILE).unlink()  # its COMPLETE marker stays
    edit_weights(run / target)
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))

    assert main(argv(card, run, out)) == 2
    err = capsys.readouterr().err
    assert f"{run / target / MANIFEST_FILE}: missing" in err and "--allow-unverified" in err, err
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before  # nothing written, nothing replaced
    assert not any(out.iterdir())

    assert main([*argv(card, run, out), "--allow-unverified"]) == 0, capsys.readouterr().err
    assert verified(run, out) is False
    if command.startswith("train"):  # the lineage stays marked: later checkpoints and final_model say so
        for directory in ("checkpoints/4", "final_model"):
            identity = json.loads((run / directory / "identity.json").read_text())
            assert identity["lineage_verified"] is False and "step 2" in identity["unverified_since"]
        assert main(["eval", str(run), "--max-prompts", "2", "--output-dir", str(tmp_path / "again")]) == 0
        assert results(tmp_path / "again")["verified"] is False


class _Unpickled:
    """Unpickling this creates ``path``: proof that a loader ran the pickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (str(self.path),))


def plant_pickle(directory: Path, marker: Path, keep_manifest: bool) -> None:
    """Weights replaced by a pickle that runs code when loaded (with a manifest that lists it, if kept)."""
    (directory / "model.safetensors").unlink()
    with open(directory / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"model.embed_tokens.weight": _Unpickled(marker)}, handle)
    if keep_manifest:
        (directory / MANIFEST_FILE).unlink()
        write_manifest(directory)


PICKLED = {
    "symbolic eval": lambda run, chat, out: ["symbolic", "eval", str(chat), "--n-eval-tasks", "1", "--max-tokens",
                                             "2", "--set", "n_examples=2", "--output-dir", str(out)],
    "eval": lambda run, chat, out: ["eval", str(run), "--max-prompts", "2", "--output-dir", str(out)],
    "attention": lambda run, chat, out: ["attention", str(run), "--n-prompts", "2", "--json", str(out / "a.json")],
    "alignment": lambda run, chat, out: ["alignment", str(run)],
}  # fmt: skip


@pytest.mark.parametrize("command", PICKLED)
def test_pickle_weights_are_never_loaded_whatever_the_flags(run, tmp_path, capsys, command):
    _, run = run
    chat = make_chat_model_dir(tmp_path / "chat") if command == "symbolic eval" else None
    marker, out = tmp_path / "unpickled", tmp_path / "out"
    out.mkdir()
    plant_pickle(chat or run / "final_model", marker, keep_manifest=chat is None)
    for flags in ([], ["--allow-unverified"]) if chat is None else ([],):
        assert main([*PICKLED[command](run, chat, out), *flags]) == 2
        err = capsys.readouterr().err
        assert "pytorch_model.bin: pickle-format weights are never loaded" in err and "Traceback" not in err, err
        assert not marker.exists() and not any(out.iterdir())
    if chat is not None:  # a model from elsewhere in safetensors: it loads, unverified by nature, and says so
        make_chat_model_dir(chat)
        (chat / "pytorch_model.bin").unlink()
        assert main(PICKLED[command](run, chat, out)) == 0
        assert results(out)["verified"] is False


def foreign_identity(directory: Path, **changes) -> None:
    """The directory as another configuration's checkpoint would be (same shapes, other Args)."""
    from tokenized_cot_icl.foundation.weights import config_identity, write_identity

    args = RunDir.containing(directory).read_args().replace(**changes)
    write_identity(directory, config_identity(args), None)
    (directory / MANIFEST_FILE).unlink()
    write_manifest(directory)


FOREIGN = {
    "train (resume)": (lambda card, run, out: train_argv(card, run.parent), "checkpoints/2", {"seed": 7}),
    "eval": (lambda card, run, out: ["eval", str(run), "--max-prompts", "2", "--output-dir", str(out)], "final_model",
             {"n_dims": 12}),
    "attention": (lambda card, run, out: ["attention", str(run), "--n-prompts", "2", "--json", str(out / "a.json")],
                  "final_model", {"rope_theta": 10000.0}),
}  # fmt: skip


@pytest.mark.parametrize("command", FOREIGN)
def test_a_checkpoint_of_another_configuration_is_refused_with_both_hashes_and_the_fields(
    run, tmp_path, capsys, command
):
    card, run = run
    argv, target, changes = FOREIGN[command]
    out = tmp_path / "out"
    out.mkdir()
    if command.startswith("train"):
        interrupt_after_step_2(run)
    foreign_identity(run / target, **changes)
    before = sorted(str(p.relative_to(run)) for p in run.rglob("*"))
    assert main(argv(card, run, out)) == 2
    err = capsys.readouterr().err
    (field, value), current = next(iter(changes.items())), json.loads((run / "args.json").read_text())
    assert str(run / target / "identity.json") in err and "another configuration" in err, err
    assert f"{field}: checkpoint {value!r}, run {current[field]!r}" in err
    assert err.count("data ") >= 2 and err.count("model ") >= 2  # both hashes of both
    assert sorted(str(p.relative_to(run)) for p in run.rglob("*")) == before and not any(out.iterdir())


def remove_after_check(monkeypatch, where: str) -> None:
    """Training prunes the checkpoint just after (or while) the weights check passes."""
    if where == "during":
        verify_file = manifest.verify_file

        def pruned_midway(directory, name, entry):
            shutil.rmtree(directory)
            return verify_file(directory, name, entry)

        monkeypatch.setattr(manifest, "verify_file", pruned_midway)
        return
    verify_model = RunDir.verify_model

    def pruned_after(self, path, *args, **kwargs):
        checked = verify_model(self, path, *args, **kwargs)
        shutil.rmtree(path)
        return checked

    monkeypatch.setattr(RunDir, "verify_model", pruned_after)


REMOVED = {
    "eval": (["eval", "{run}", "--checkpoint", "2", "--max-prompts", "2"], "after"),
    "eval (during the check)": (["eval", "{run}", "--checkpoint", "2", "--max-prompts", "2"], "during"),
    "verify": (["verify", "{run}", "--checkpoint", "2", "--max-prompts", "2"], "after"),
    "attention": (["attention", "{run}", "--checkpoint", "2", "--n-prompts", "2"], "after"),
    "alignment": (["alignment", "{run}", "--checkpoint", "2"], "after"),
}


@pytest.mark.parametrize("command", REMOVED)
def test_a_checkpoint_removed_while_loading_is_named_as_removed(run, monkeypatch, capsys, command):
    _, run = run
    argv, when = REMOVED[command]
    remove_after_check(monkeypatch, when)
    assert main([a.replace("{run}", str(run)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"checkpoint 2 was removed while loading ({run / 'checkpoints' / '2'})" in err, err
    assert "Repo id" not in err and "Traceback" not in err


def test_identity_records_the_data_and_model_fields(trained):
    _, run = trained
    identity = json.loads((run / "checkpoints" / "4" / "identity.json").read_text())
    args = json.loads((run / "args.json").read_text())
    assert identity["lineage_verified"] is True and identity["data"]["n_dims"] == args["n_dims"]
    assert identity["model"]["hidden_size"] == TINY_BASE["hidden_size"] and len(identity["model_hash"]) == 16
    assert "identity.json" in json.loads((run / "final_model" / MANIFEST_FILE).read_text())["files"]
    assert torch.equal(  # the weights are the trainer's, untouched by the checks
        load_file(run / "final_model" / "model.safetensors")["model.embed_tokens.weight"],
        load_file(run / "checkpoints" / "4" / "model.safetensors")["model.embed_tokens.weight"],
    )
