"""One writer per directory: an exclusive lock held for the life of a training run (or of any
command that writes fixed names into one directory, such as ``cot-icl scale --out DIR``).

The process that trains a run (global rank 0) takes two exclusive, non-blocking ``flock`` locks
before it writes anything there, and holds them until it returns:

1. **the run directory itself** (an ``O_DIRECTORY`` descriptor). Nothing a user does to the
   files inside can defeat it: deleting or replacing ``run.lock`` leaves the directory, and its
   lock, as they were, so a second launch is still refused;
2. **the record file** ``run.lock``, in which the holder records itself (PID, host, start time,
   command) for the refusal message. After ``flock`` returns, the holder checks that the path
   still names the inode it locked (``fstat`` of its descriptor against ``stat`` of the path)
   and otherwise locks what the path names now: whoever removes or replaces the file between
   another process's ``open`` and ``flock`` cannot make two holders. Filesystems that cannot lock
   a directory (NFS maps ``flock`` to byte-range locks, which need a file open for writing) keep
   this lock alone.

The kernel drops both locks when the process ends, however it ends (a crash or ``kill -9``
included), so a lock never outlives its holder:

- a second launch into the same directory stops at once with a message naming the holder;
- a record that still names a holder although nobody holds the lock is what a process that died
  without releasing it leaves behind: it is taken over, with a note naming that process.

The holder calls :meth:`RunLock.check` as it works (the trainer, every step; two ``stat`` calls).
When the record file was removed or replaced it locks and records itself in the new one, with a
note (another process locked it meanwhile: :class:`RunLockLostError`); when the directory's path
names another directory (it was moved away and a new one made in its place, where a second
launch may now write), it raises :class:`RunLockLostError` and writes nothing more.

``flock`` is honoured by every process of one machine; across machines it depends on the shared
filesystem (NFSv4 maps it to its own locks; some parallel filesystems need the ``flock`` mount
option). Runs that several nodes may launch into belong on a filesystem whose locks work for all.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

__all__ = ["RunLock", "RunLockLostError", "RunLockedError"]

# Attempts to lock a record file that other processes keep removing or replacing.
_ATTEMPTS = 20


class RunLockedError(RuntimeError, ValueError):
    """Another live process holds the directory's lock (the message names it). A ValueError too:
    every command reports a refusal as its one-line error."""


class RunLockLostError(RuntimeError):
    """The holder's directory or lock was replaced under it; it must stop writing (the message says how)."""


def _holder_text(holder: dict[str, Any] | None, record: Path) -> str:
    if holder is None:
        return f"another process (its record {record} is missing or unreadable)"
    if not holder:
        return "another process (it has not recorded itself yet)"
    text = f"PID {holder.get('pid')} on host {holder.get('host')} since {holder.get('started')}"
    return text + (f" (command: {holder['command']})" if holder.get("command") else "")


def _names(path: Path, fd: int) -> bool:
    """Whether ``path`` (not followed if a link) names the file open as ``fd``."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


class RunLock:
    """``acquire()`` takes the lock or raises :class:`RunLockedError`; ``release()`` gives it back.

    ``path`` is the record file (``RUN/run.lock``); its parent is the directory locked.
    ``what``, ``purpose`` and ``alternative`` word the refusal; ``remove_on_release`` deletes the record
    when released (for a results directory, which should hold only results; safe because an
    acquirer checks that the path still names the inode it locked).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        what: str = "run directory",
        purpose: str = "Only one training process may write a run",
        alternative: str = "train into another run_name/output_base_dir",
        remove_on_release: bool = False,
    ) -> None:
        self.path = Path(path)
        self.directory = self.path.parent
        self.what, self.purpose, self.alternative = what, purpose, alternative
        self.remove_on_release = remove_on_release
        self.fd: int | None = None  # the record file, locked
        self.dir_fd: int | None = None  # the directory, locked (None where the filesystem cannot)
        self.unrecorded = False  # the record file was replaced by something that cannot be locked

    @property
    def held(self) -> bool:
        return self.fd is not None

    def _read(self, fd: int) -> dict[str, Any]:
        os.lseek(fd, 0, os.SEEK_SET)
        raw = os.read(fd, 65536)
        try:
            holder = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return {"pid": "?", "host": "?", "started": "?", "command": raw[:200].decode(errors="replace")}
        return holder if isinstance(holder, dict) else {}

    def _read_path(self) -> dict[str, Any] | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        try:
            return self._read(fd)
        except OSError:
            return {}
        finally:
            os.close(fd)

    def _refusal(self, holder: dict[str, Any] | None) -> RunLockedError:
        return RunLockedError(
            f"{self.what} {self.directory} is in use: its lock {self.path} is held by {_holder_text(holder, self.path)}. "
            f"{self.purpose}; wait for that one to finish or stop it "
            f"(the lock is released when its process ends), or {self.alternative}"
        )

    def _unusable(self, err: OSError) -> ValueError:
        reason = err.strerror or str(err)
        if err.errno == errno.ELOOP:
            reason = "it is a symbolic link; a lock file is never followed elsewhere"
        return ValueError(f"{self.path}: cannot create the run lock ({reason})")

    def _lock_directory(self) -> int | None:
        try:
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as err:
            raise self._unusable(err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._refusal(self._read_path()) from None
        except OSError:  # this filesystem cannot lock a directory: the record file's lock alone
            os.close(fd)
            return None
        return fd

    def _lock_record(self) -> int:
        """Opens and locks the record file that ``path`` names once locked (see the module docstring)."""
        for _ in range(_ATTEMPTS):
            try:
                # O_NOFOLLOW: a link put in its place must not make us truncate a file elsewhere.
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
            except OSError as err:
                raise self._unusable(err) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = self._read(fd)
                os.close(fd)
                raise self._refusal(holder) from None
            if _names(self.path, fd):
                return fd
            os.close(fd)  # removed or replaced between open and flock: lock what it names now
        raise RunLockedError(
            f"{self.path} was removed or replaced {_ATTEMPTS} times while this process locked it: "
            f"another process keeps recreating it. {self.purpose}"
        )

    def _record(self, fd: int) -> None:
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500],  # the program, not its path
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)

    def acquire(self) -> str | None:
        """Takes the lock; returns a note when it took over one left by a dead process."""
        if self.held:
            return None
        dir_fd = self._lock_directory()
        try:
            fd = self._lock_record()
            previous = self._read(fd)
            self._record(fd)
        except BaseException:
            if dir_fd is not None:
                os.close(dir_fd)  # closing drops its lock
            raise
        self.fd, self.dir_fd, self.unrecorded = fd, dir_fd, False
        if previous:
            return (
                f"note: took over the lock {self.path} left by {_holder_text(previous, self.path)}, "
                "which ended without releasing it"
            )
        return None

    def check(self) -> str | None:
        """The holder's check that it is still the one writer; a note when it re-made its record.

        Raises :class:`RunLockLostError` when the directory's path names another directory, or
        when the record file was replaced and another process holds the new one.
        """
        if self.fd is None:
            return None
        if self.dir_fd is not None and not _names(self.directory, self.dir_fd):
            raise RunLockLostError(
                f"{self.directory} was moved or replaced while this process held its lock (the path now names "
                "another directory, where another process may write); stopping so that one process writes there"
            )
        if self.unrecorded or _names(self.path, self.fd):
            return None
        try:
            fd = self._lock_record()
        except ValueError as err:
            if self.dir_fd is None:
                raise RunLockLostError(
                    f"the lock file {self.path} was replaced while this process held it ({err}); stopping so that "
                    f"one process writes {self.directory}"
                ) from None
            self.unrecorded = True  # said once; the directory's lock alone keeps other writers out
            return (
                f"note: the lock file {self.path} was replaced while this process held it by something it cannot "
                f"lock ({err}); the directory stays locked, so no other process writes it"
            )
        except RunLockedError as err:
            raise RunLockLostError(
                f"the lock file {self.path} was removed or replaced while this process held it, and it cannot "
                f"lock it again ({err}); stopping so that one process writes {self.directory}"
            ) from None
        self._record(fd)
        os.close(self.fd)
        self.fd = fd
        return f"note: the lock file {self.path} was removed or replaced while this process held it; locked and recorded again"

    def release(self) -> None:
        """Clears the holder record and unlocks (the run's file stays; see ``remove_on_release``)."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        dir_fd, self.dir_fd = self.dir_fd, None
        try:
            if self.remove_on_release and _names(self.path, fd):
                os.unlink(self.path)  # while locked: a waiter that opened it sees it gone and retries
            else:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
            if dir_fd is not None:
                os.close(dir_fd)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
