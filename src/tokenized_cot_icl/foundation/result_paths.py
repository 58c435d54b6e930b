"""Results paths that no two commands share, however many run at once.

Every results directory and results file an evaluation command makes (``cot-icl eval``, its
``--eval-card`` sweeps, ``cot-icl verify``, ``cot-icl symbolic eval``) is named by the time to the
microsecond, the process id and a random suffix, and is created exclusively (``mkdir``, or
``open`` with ``O_EXCL``), retrying with a new suffix when the name is taken. Two commands started
in the same second (or microsecond, or by processes that reuse a PID) therefore write distinct
paths, and a sweep's summary lists exactly the points it evaluated. Commands that write fixed
names into a directory the user names (``cot-icl scale --out DIR``) hold that directory's lock
instead (:class:`~tokenized_cot_icl.foundation.run_lock.RunLock`).
"""

from __future__ import annotations

import datetime as _dt
import os
import secrets
from pathlib import Path
from typing import IO

__all__ = ["new_results_dir", "new_results_file", "unique_stamp"]

_ATTEMPTS = 100


def unique_stamp() -> str:
    """``20261121T055332118354Z-4242-a1b2c3``: UTC time, process id, random suffix."""
    now = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{now}-{os.getpid()}-{secrets.token_hex(3)}"


def new_results_dir(parent: str | os.PathLike, prefix: str) -> Path:
    """Creates and returns ``parent/<prefix>-<unique_stamp>/``, a directory no other command has."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        path = parent / f"{prefix}-{unique_stamp()}"
        try:
            path.mkdir()  # exclusive: FileExistsError when another command made it first
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"{parent}: no free results directory name for {prefix!r} after {_ATTEMPTS} attempts")


def new_results_file(directory: str | os.PathLike, prefix: str, suffix: str) -> tuple[Path, IO[str]]:
    """Creates ``directory/<prefix>-<unique_stamp><suffix>`` exclusively; returns its stem (the path
    without ``suffix``, for the files named after it) and the file open for writing.

    The exclusive create reserves the stem: a command names its other files ``<stem>.json``,
    ``<stem>-verification.json``, ... and no other command can reach that stem.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for _ in range(_ATTEMPTS):
        stem = directory / f"{prefix}-{unique_stamp()}"
        try:
            handle = open(f"{stem}{suffix}", "x")  # O_CREAT | O_EXCL
        except FileExistsError:
            continue
        return stem, handle
    raise FileExistsError(f"{directory}: no free results file name for {prefix!r} after {_ATTEMPTS} attempts")
