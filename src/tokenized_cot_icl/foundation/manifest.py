"""Tamper-evident directories: a manifest of each file's size and SHA-256 digest.

Checkpoints, ``final_model/`` and evaluation sets carry a manifest, written after every file it
lists and before the directory's completeness marker::

    {"format": 1, "algorithm": "sha256",
     "files": {"model.safetensors": {"size": 1234, "sha256": "9f86..."}, ...}}

Readers call :func:`verify_directory` before they parse the files (the bytes hashed are then
read again from the page cache, so the check costs one hash pass). A mismatch raises
:class:`DamagedFileError` naming the file and what is wrong with it. A directory written before
manifests existed has none: :func:`verify_directory` returns ``False`` and the caller notes that
its files are not verified.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tokenized_cot_icl.foundation.io import write_json

MANIFEST_FILE = "MANIFEST.json"
FORMAT = 1
CHUNK = 8 << 20


class DamagedFileError(ValueError):
    """A file that differs from its manifest (or a manifest that cannot be read); names the file."""

    def __init__(self, path: str | os.PathLike, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def file_digest(path: Path, sync: bool = False) -> tuple[int, str]:
    """``(size, sha256 hex)`` of a file, streamed; ``sync`` also flushes it to disk first."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        if sync:
            os.fsync(handle.fileno())
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def write_manifest(
    directory: str | os.PathLike,
    name: str = MANIFEST_FILE,
    files: list[str] | None = None,
    known: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Lists ``files`` (default: every regular file in ``directory``) with sizes and digests.

    Each file is flushed to disk while it is hashed, so once the caller's completeness marker
    lands, what the manifest describes is durable too. ``known``: entries of an earlier manifest
    of the same files, kept as they are (a manifest extended keeps vouching for what it vouched
    for, instead of re-hashing files that could have changed since they were checked).
    """
    directory = Path(directory)
    if files is None:
        files = sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != name)
    entries = {}
    for file in files:
        if known and file in known:
            entries[file] = dict(known[file])
            continue
        size, sha = file_digest(directory / file, sync=True)
        entries[file] = {"size": size, "sha256": sha}
    path = directory / name
    write_json(path, {"format": FORMAT, "algorithm": "sha256", "files": entries})
    return path


def read_manifest(directory: str | os.PathLike, name: str = MANIFEST_FILE) -> dict[str, dict[str, Any]] | None:
    """The ``files`` table of a directory's manifest, or None when it has none."""
    path = Path(directory) / name
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        files = data["files"]
        if data.get("format") != FORMAT or not all(
            isinstance(e, dict) and isinstance(e.get("size"), int) and isinstance(e.get("sha256"), str)
            for e in files.values()
        ):
            raise ValueError("unexpected layout")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise DamagedFileError(path, f"manifest cannot be read ({type(err).__name__}: {err})") from None
    return files


def verify_file(directory: Path, name: str, entry: dict[str, Any]) -> None:
    path = directory / name
    if not path.is_file():
        raise DamagedFileError(path, "missing (the manifest lists it)")
    size, sha = file_digest(path)
    if size != entry["size"]:
        raise DamagedFileError(
            path, f"is {size} bytes but its manifest says {entry['size']} (truncated or overwritten after it was saved)"
        )
    if sha != entry["sha256"]:
        raise DamagedFileError(path, "content differs from its manifest's SHA-256 (modified after it was saved)")


def verify_directory(directory: str | os.PathLike, name: str = MANIFEST_FILE) -> bool:
    """Checks every file the manifest lists; True when verified, False when there is no manifest."""
    directory = Path(directory)
    files = read_manifest(directory, name)
    if files is None:
        return False
    for file, entry in sorted(files.items()):
        verify_file(directory, file, entry)
    return True
