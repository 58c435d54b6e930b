"""``cot-icl export-model RUN``: model directories written before they held a tokenizer gain one,
with ``generation_config.json`` (models.files), without touching their weights or their manifest's
integrity.

Each complete model directory of the run (``final_model/`` and every ``checkpoints/<step>/``, or
the one ``--checkpoint`` names) is first put through the weights check (foundation.weights): a
file that differs from its manifest, or a checkpoint of another configuration, stops the command
naming it, and nothing is written. The new directory is then assembled beside the old one
(foundation.ownership.staging_dir): every existing file is hard-linked into it (the same bytes,
the same inode: weights are never rewritten; a filesystem without hard links gets a copy), the
tokenizer and generation config are written, the manifest is rewritten with the old entries of
the files it already vouched for and fresh digests of the new ones, then the ``COMPLETE`` marker;
finally the new directory replaces the old one atomically (foundation.ownership.replace_directory).
A command killed at any point leaves the old directory or the new one, never a mixture; the next
run cleans what it left. A directory without a manifest (saved before manifests existed) gains
the files and stays unverified: no manifest is made up for weights nobody vouched for.

The run's lock (foundation.run_lock) is held throughout, so a training process cannot write the
run meanwhile. Directories that already hold exactly these files are left as they are.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import naming_path
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE, read_manifest, write_manifest
from tokenized_cot_icl.foundation.ownership import recover, replace_directory, staging_dir
from tokenized_cot_icl.foundation.run_dir import COMPLETE_MARKER, RunDir, is_complete
from tokenized_cot_icl.foundation.run_lock import RunLock
from tokenized_cot_icl.models.files import MODEL_FILES, write_model_files

__all__ = ["ModelExport", "export_model_dir", "export_run"]


@dataclass(frozen=True)
class ModelExport:
    """What happened to one model directory."""

    path: Path
    added: tuple[str, ...]  # the files written (empty: it held them already)
    has_manifest: bool  # a manifest covers the directory (and now the new files)

    def line(self) -> str:
        if not self.added:
            return f"{self.path}: already holds its tokenizer and generation_config.json"
        what = (
            "MANIFEST.json updated"
            if self.has_manifest
            else "no MANIFEST.json (saved before manifests): stays unverified"
        )
        return f"{self.path}: wrote {', '.join(self.added)}; {what}"


def export_run(run: str | os.PathLike, checkpoint: str | None = None) -> list[ModelExport]:
    """Every complete model directory of ``run`` (or ``checkpoint``: ``final`` or a step) gains its
    tokenizer and generation config; all are checked before any is changed."""
    run_dir = RunDir(run)
    if not run_dir.has_args():
        raise FileNotFoundError(f"{run_dir.args_path}: no args.json, so {run_dir.path} is not a training run")
    args = run_dir.read_args()
    labels = [checkpoint] if checkpoint is not None else run_dir.available_checkpoints()
    if not labels:
        raise FileNotFoundError(f"{run_dir.path} holds no complete model directory (final_model/ or a checkpoint)")
    lock = RunLock(
        run_dir.lock_path, purpose="Model files are added to a run only while nothing else writes it",
        alternative="wait until the training process finishes, then run export-model again",
    )  # fmt: skip
    with lock:
        paths = [run_dir.resolve_checkpoint(label) for label in labels]
        for path in paths:  # every directory checked before the first is changed
            run_dir.verify_model(path, "evaluate", allow_unverified=True)
        return [export_model_dir(path, args, run_dir) for path in paths]


def export_model_dir(path: Path, args: Args, run_dir: RunDir) -> ModelExport:
    """Adds the model files to one complete model directory of ``run_dir`` (module docstring)."""
    path = Path(path)
    for note in recover(path, is_complete):
        print(f"note: {note}", flush=True)
    run_dir.verify_model(path, "evaluate", allow_unverified=True)
    manifest = read_manifest(path)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.files-") as scratch:
        written = write_model_files(args, scratch)
        if all(_same_file(Path(scratch) / name, path / name) for name in written):
            return ModelExport(path, (), manifest is not None)
    stage = staging_dir(path)
    try:
        with naming_path(stage):
            _assemble(path, stage, args, manifest)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)  # a kill -9 cannot get here: the next run's recover removes it
        raise
    replace_directory(stage, path, is_complete)
    return ModelExport(path, tuple(written), manifest is not None)


def _assemble(path: Path, stage: Path, args: Args, manifest: dict | None) -> None:
    """The new directory in ``stage``: the old files linked, the new ones written, manifest, marker."""
    # The files written anew are never linked: writing through a link would change the old directory.
    fresh = {*MODEL_FILES, MANIFEST_FILE, COMPLETE_MARKER}
    for entry in sorted(path.iterdir()):
        if entry.name not in fresh:
            _link(entry, stage / entry.name)
    written = write_model_files(args, stage)
    if manifest is not None:
        kept = {name: entry for name, entry in manifest.items() if name not in written}
        write_manifest(stage, files=sorted({*manifest, *written}), known=kept)
    marker = path / COMPLETE_MARKER
    if marker.is_file():  # last, as when the directory was first saved
        (stage / COMPLETE_MARKER).write_text(marker.read_text())


def _link(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, copy_function=_link_file)
    else:
        _link_file(source, target)


def _link_file(source: str | os.PathLike, target: str | os.PathLike) -> None:
    try:
        os.link(source, target)
    except OSError:  # no hard links here (another filesystem, some network mounts): the same bytes
        shutil.copy2(source, target)


def _same_file(new: Path, old: Path) -> bool:
    return old.is_file() and new.read_bytes() == old.read_bytes()
