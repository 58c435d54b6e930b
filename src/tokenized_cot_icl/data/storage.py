"""Saving and loading evaluation sets in a non-executable format (safetensors + JSON).

``<dir>/eval_set.safetensors`` holds the flat arrays; ``<dir>/eval_set.json`` records the
format and generator versions and the Args that produced them; ``<dir>/eval_set.manifest.json``
holds the size and SHA-256 of both (foundation.manifest). The metadata lands last and marks the
set complete. Loading verifies the manifest first (one changed token byte is caught), then refuses
a set whose versions differ from this code's or whose data-defining Args differ from the caller's.
A set saved before manifests existed loads with a note that it was not verified.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import ensure_writable_dir, naming_path
from tokenized_cot_icl.foundation.manifest import DamagedFileError, verify_directory, write_manifest
from tokenized_cot_icl.foundation.ownership import OverwriteRefusedError
from tokenized_cot_icl.generator.chains import GENERATOR_VERSION

__all__ = ["ARRAYS_FILE", "FORMAT_VERSION", "MANIFEST", "META_FILE", "load_eval_set", "save_eval_set"]

FORMAT_VERSION = 1
ARRAYS_FILE = "eval_set.safetensors"
META_FILE = "eval_set.json"
MANIFEST = "eval_set.manifest.json"


def _check_replaceable(directory: Path) -> None:
    """An ``eval_set.json`` already there must be an evaluation set's (foundation.ownership)."""
    meta_path = directory / META_FILE
    if not meta_path.exists():
        return
    try:
        meta = json.loads(meta_path.read_text())
        ours = isinstance(meta, dict) and "format_version" in meta and isinstance(meta.get("args"), dict)
    except (OSError, ValueError):
        ours = False
    if not ours:
        reason = "is not evaluation-set metadata written by this project; choose another directory or move the file"
        raise OverwriteRefusedError(meta_path, reason)


def save_eval_set(dataset: EvalTokenizedDataset, directory: str | os.PathLike) -> Path:
    """Writes the set atomically: both files appear together or not at all. An earlier set there is
    replaced; a file of another kind named ``eval_set.json`` is refused, naming it."""
    directory = ensure_writable_dir(directory, "evaluation set directory")
    _check_replaceable(directory)
    meta = {
        "format_version": FORMAT_VERSION,
        "generator_version": GENERATOR_VERSION,
        "n_prompts": len(dataset),
        "args": dataset.args.to_dict(),
    }
    with naming_path(directory), tempfile.TemporaryDirectory(dir=directory, prefix=".tmp-eval-set-") as tmp:
        with naming_path(directory / ARRAYS_FILE):
            save_file(dict(dataset.arrays), os.path.join(tmp, ARRAYS_FILE))
        Path(tmp, META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        write_manifest(tmp, MANIFEST, files=[ARRAYS_FILE, META_FILE])
        # The metadata lands last: a set without it is never considered complete.
        for name in (ARRAYS_FILE, MANIFEST, META_FILE):
            os.replace(os.path.join(tmp, name), directory / name)
    return directory


def load_eval_set(directory: str | os.PathLike, args: Args | None = None) -> EvalTokenizedDataset:
    """Loads a saved set; with ``args``, refuses it unless the data-defining fields match."""
    directory = Path(directory)
    meta_path, arrays_path = directory / META_FILE, directory / ARRAYS_FILE
    for path in (meta_path, arrays_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no saved evaluation set here (expected {META_FILE} and {ARRAYS_FILE})")
    redo = f"delete {directory} (training regenerates it) or rewrite it with `cot-icl data save-eval --out {directory}`"
    try:
        verified = verify_directory(directory, MANIFEST)
    except DamagedFileError as err:
        raise DamagedFileError(err.path, f"{err.problem}; {redo}") from None
    if not verified:
        print(f"note: {directory} has no {MANIFEST} (saved before manifests existed); not verified", file=sys.stderr)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{meta_path}: unreadable evaluation-set metadata ({err}); {redo}") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("args"), dict):
        raise ValueError(f"{meta_path}: not evaluation-set metadata (no 'args' table of the Args that made it); {redo}")
    for key, expected in (("format_version", FORMAT_VERSION), ("generator_version", GENERATOR_VERSION)):
        if meta.get(key) != expected:
            raise ValueError(
                f"{meta_path}: {key} is {meta.get(key)!r} but this code reads {expected}; "
                "regenerate the evaluation set with this version"
            )
    saved_args = Args.from_dict(meta["args"], source=str(meta_path))
    if args is not None:
        ours, theirs = args.data_fingerprint(), saved_args.data_fingerprint()
        diff = {k: (theirs[k], ours[k]) for k in ours if ours[k] != theirs[k]}
        if diff:
            detail = ", ".join(f"{k}: saved {a!r} vs requested {b!r}" for k, (a, b) in sorted(diff.items()))
            raise ValueError(f"{meta_path}: evaluation set was generated with different Args ({detail})")
    try:
        arrays = load_file(str(arrays_path))
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{arrays_path}: corrupt evaluation-set arrays ({err}); {redo}") from None
    if len(arrays.get("cut", ())) != meta.get("n_prompts"):
        raise ValueError(
            f"{arrays_path}: holds {len(arrays.get('cut', ()))} prompts, metadata says {meta.get('n_prompts')}; {redo}"
        )
    return EvalTokenizedDataset(saved_args, arrays=arrays)
