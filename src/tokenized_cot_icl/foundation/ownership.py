"""What a command may delete or overwrite: only what it can prove it wrote.

Every command that replaces or removes a directory asks here first. A directory proves itself
ours by a marker this project writes and recognises: a run directory by its ``args.json``
(foundation.run_dir), an export by its ``_cot_icl_export.json`` (data.export), a staging
directory by :data:`STAGING_MARKER`, written into it when it is made. Anything else is refused
with :class:`OverwriteRefusedError`, naming the path, what is there and why it is kept.

**Replacements are atomic** (:func:`replace_directory`): the new directory is completed beside the
target (``.<name>.partial``), the old one is renamed aside (``.<name>.replaced``), the new one
renamed in, and only then the old one removed. Whenever a command is killed, the target is either
the old directory or the new one, never a mixture; the next call to :func:`recover` names what
was left beside it and puts things right: a staging directory is removed (its marker proves it
ours), an old directory renamed aside is renamed back when the new one never arrived, or removed
when it did.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "STAGING_MARKER",
    "OverwriteRefusedError",
    "describe_entries",
    "recover",
    "replace_directory",
    "staging_dir",
]

STAGING_MARKER = ".cot-icl-staging"


class OverwriteRefusedError(ValueError):
    """A path this command will not delete or overwrite: it cannot prove it wrote it, or would lose results (the message says why)."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def describe_entries(directory: Path, limit: int = 5) -> str:
    """``a.txt, b/ and 3 more``: what a directory holds, for a refusal message."""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _staging(target: Path) -> Path:
    return target.parent / f".{target.name}.partial"


def _aside(target: Path) -> Path:
    return target.parent / f".{target.name}.replaced"


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _live_writer(marker: Path) -> str | None:
    """``PID n`` when the process that made a staging directory is still running on this host."""
    try:
        writer = json.loads(marker.read_text())
        pid = int(writer["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if writer.get("host") != socket.gethostname() or pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, another user's
    return f"PID {pid}"


def recover(target: str | os.PathLike, is_ours: Callable[[Path], bool]) -> list[str]:
    """Cleans what a killed replacement of ``target`` left beside it; one note per thing done.

    ``is_ours(path)`` is the artefact's own proof (its completeness marker). Anything beside the
    target under our names that fails its proof is refused, never deleted.
    """
    target = Path(target)
    notes: list[str] = []
    aside, staging = _aside(target), _staging(target)
    if aside.exists():
        if not target.exists():
            aside.rename(target)  # killed between the two renames: the old one is still the good one
            notes.append(f"restored {target} from {aside}, left by an interrupted replacement")
        elif is_ours(aside) or _is_empty_dir(aside):
            shutil.rmtree(aside)
            notes.append(f"removed {aside}, the previous {target.name} left by an interrupted replacement")
        else:
            raise OverwriteRefusedError(
                aside, f"not a complete {target.name} written by this project; remove it yourself"
            )
    if (target / STAGING_MARKER).is_file():
        (target / STAGING_MARKER).unlink()  # killed just after the new one was renamed in: it is complete
    if staging.exists():
        if not (staging / STAGING_MARKER).is_file():
            reason = f"where {target.name} is staged, but not made by this project (no {STAGING_MARKER}); remove it"
            raise OverwriteRefusedError(staging, reason)
        writer = _live_writer(staging / STAGING_MARKER)
        if writer is not None:
            raise OverwriteRefusedError(staging, f"{writer} is writing {target} now; wait for it to finish")
        shutil.rmtree(staging)
        notes.append(f"removed {staging}, left unfinished by an interrupted command")
    return notes


def staging_dir(target: str | os.PathLike) -> Path:
    """A fresh, empty staging directory beside ``target``, marked as ours (call :func:`recover` first)."""
    target = Path(target)
    staging = _staging(target)
    staging.mkdir(parents=True)
    (staging / STAGING_MARKER).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n")
    return staging


def replace_directory(new: str | os.PathLike, target: str | os.PathLike, is_ours: Callable[[Path], bool]) -> None:
    """Puts the complete directory ``new`` at ``target``, atomically (module docstring).

    An existing ``target`` is replaced only when it is empty or ``is_ours(target)``; else
    :class:`OverwriteRefusedError`, and nothing is touched.
    """
    new, target = Path(new), Path(target)
    aside = _aside(target)
    if target.exists():
        if not target.is_dir():
            raise OverwriteRefusedError(target, "exists and is not a directory; choose another location")
        if not (_is_empty_dir(target) or is_ours(target)):
            reason = f"holds {describe_entries(target)}, not written by this project; choose an empty or new directory"
            raise OverwriteRefusedError(target, reason)
        if aside.exists():
            raise OverwriteRefusedError(
                aside, "left by an interrupted replacement; run the command again to clean it up"
            )
        target.rename(aside)
    new.rename(target)
    (target / STAGING_MARKER).unlink(missing_ok=True)
    if aside.exists():
        shutil.rmtree(aside)
