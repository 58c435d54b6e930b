"""Small file helpers shared by every stage: crash-tolerant reads, atomic writes, I/O errors that name their path.

**Every I/O failure names its path and its cause** (``PATH: no space left on device (errno 28)``):
a writer runs inside :func:`naming_path`, which gives an error without a file name (``os.write``
on a full disk says only ``[Errno 28]``) the path being written, and turns the writers that do
not raise OSError (torch's ``unexpected pos 56384 vs 56276``, safetensors' ``IoError(Os { code:
28 ... })``) into one. :func:`tokenized_cot_icl.foundation.errors.error_line` prints it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "ensure_writable_dir",
    "naming_path",
    "os_error",
    "read_jsonl",
    "truncate_jsonl",
    "write_json",
    "write_text",
]

# Below this much free space, a writer that failed without saying why is taken to have filled the disk.
NEARLY_FULL_BYTES = 16 << 20
# What torch's zip writer and safetensors say when a write fails (they raise no OSError).
_WRITER_FAILURES = re.compile(
    r"unexpected pos|PytorchStreamWriter failed|file write failed|I/?O ?error|os error|code: \d"
)
_ERRNO_IN_TEXT = re.compile(r"(?:code: |os error |\[errno )(\d+)", re.IGNORECASE)
PROBE_BYTES = 64 << 10


def _existing_dir(path: Path) -> Path | None:
    return next((p for p in (path, *path.parents) if p.is_dir()), None)


def _at_file_size_limit(path: Path) -> bool:
    """Whether ``path`` has grown to the process's file-size limit (``ulimit -f``): writes past it fail."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        return limit != resource.RLIM_INFINITY and path.stat().st_size + PROBE_BYTES > limit
    except (ImportError, OSError, ValueError):
        return False


def _probe_failure(directory: Path) -> OSError | None:
    """Writes and removes a small file in ``directory``: the OS's own error when that fails too."""
    probe = directory / f".io-probe-{os.getpid()}"
    try:
        with open(probe, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
    except OSError as err:
        return err
    finally:
        probe.unlink(missing_ok=True)
    return None


def os_error(err: BaseException, path: str | os.PathLike) -> OSError | None:
    """``err``, raised while writing or reading ``path``, as an OSError naming the path and the cause.

    None when ``err`` is not an I/O failure (a bug or a bad value: left as it is).
    """
    path = Path(path)
    if isinstance(err, OSError):
        if err.errno is None:
            return None
        # os.strerror: the cause in the OS's words (pyarrow's strerror wraps it in its own detail)
        return OSError(err.errno, os.strerror(err.errno), str(err.filename or path))
    text = str(err)
    if not _WRITER_FAILURES.search(text):
        return None
    number = _ERRNO_IN_TEXT.search(text)
    if number:  # safetensors and friends quote the OS error
        return OSError(int(number.group(1)), os.strerror(int(number.group(1))), str(path))
    # torch's zip writer drops the OS error ("unexpected pos 56384 vs 56276"): ask the filesystem.
    directory = _existing_dir(path.parent)
    if directory is not None:
        free = shutil.disk_usage(directory).free
        if free < NEARLY_FULL_BYTES:
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        if _at_file_size_limit(path):
            return OSError(errno.EFBIG, os.strerror(errno.EFBIG), str(path))
        probe = _probe_failure(directory)
        if probe is not None and probe.errno is not None:
            return OSError(probe.errno, os.strerror(probe.errno), str(path))
    first = (text.strip().splitlines() or [""])[0][:200]
    return OSError(None, f"write failed ({type(err).__name__}: {first})", str(path))


@contextlib.contextmanager
def naming_path(path: str | os.PathLike) -> Iterator[None]:
    """Runs a read or write of ``path``; an I/O failure leaves as an OSError naming the path (module docstring)."""
    try:
        yield
    except Exception as err:
        if isinstance(err, OSError) and err.filename:
            raise  # names its file already
        converted = os_error(err, path)
        if converted is None:
            raise
        raise converted from err


def read_jsonl(path: Path) -> list[tuple[str, dict]]:
    """``(line, record)`` pairs of a JSONL file; a line cut short by a crash is skipped."""
    pairs = []
    with naming_path(path):
        text = Path(path).read_text()
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            pairs.append((line, record))
    return pairs


def truncate_jsonl(path: Path, step: int) -> None:
    """Drops records with ``"step" > step`` (and lines cut short by a crash) from a JSONL file."""
    if not path.exists():
        return
    kept = [line for line, record in read_jsonl(path) if record.get("step", 0) <= step]
    write_text(path, "".join(line + "\n" for line in kept))


def ensure_writable_dir(path: str | os.PathLike, what: str) -> Path:
    """Creates ``path`` (and its parents) and proves it writable, or one ValueError line naming it.

    ``what`` names the setting the path came from (e.g. ``output_base_dir``), so the message says
    what to change. Runs before long work, so a bad location fails in a second, not at the end.
    """
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        where = err.filename or path
        raise ValueError(
            f"{what}: cannot write to {where} ({err.strerror or err}); choose a writable location"
        ) from None
    return path


def write_text(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` through a temporary file and a rename: the file is the old one or the new one,
    never half-written (a full disk leaves the old one and a ``.tmp`` beside it, which the next write replaces)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with naming_path(path):
        try:
            tmp.write_text(text)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Writes ``data`` as indented JSON, atomically (:func:`write_text`)."""
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
