"""One writer per run directory: the lock refuses a second holder and is taken over from the dead."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from tokenized_cot_icl.foundation.run_lock import RunLock, RunLockedError, RunLockLostError

HOLD = """
import sys, time
from tokenized_cot_icl.foundation.run_lock import RunLock
lock = RunLock(sys.argv[1]); lock.acquire(); print("held", flush=True); time.sleep(600)
"""


def hold_in_subprocess(path):
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_second_holder_is_refused_naming_the_first(tmp_path):
    first = RunLock(tmp_path / "run.lock")
    assert first.acquire() is None
    holder = json.loads((tmp_path / "run.lock").read_text())
    assert holder["pid"] == os.getpid() and holder["host"] and holder["started"]
    with pytest.raises(RunLockedError) as err:
        RunLock(tmp_path / "run.lock").acquire()  # same process, another open file: still refused
    message = str(err.value)
    assert f"PID {os.getpid()} on host {holder['host']} since {holder['started']}" in message
    assert str(tmp_path) in message and "released when its process ends" in message
    first.release()
    assert (tmp_path / "run.lock").read_text() == ""  # released cleanly: nothing to take over
    again = RunLock(tmp_path / "run.lock")
    assert again.acquire() is None
    again.release()


def test_a_lock_held_by_another_live_process_is_refused(tmp_path):
    process = hold_in_subprocess(tmp_path / "run.lock")
    try:
        with pytest.raises(RunLockedError, match=rf"held by PID {process.pid} on host"):
            RunLock(tmp_path / "run.lock").acquire()
    finally:
        process.kill()
        process.wait()


def test_a_stale_lock_of_a_killed_process_is_taken_over_with_a_note(tmp_path):
    process = hold_in_subprocess(tmp_path / "run.lock")
    os.kill(process.pid, signal.SIGKILL)  # dies holding it: the kernel drops the lock, the record stays
    process.wait()
    assert json.loads((tmp_path / "run.lock").read_text())["pid"] == process.pid
    lock = RunLock(tmp_path / "run.lock")
    note = lock.acquire()
    assert note is not None and f"PID {process.pid}" in note and "ended without releasing it" in note
    assert json.loads((tmp_path / "run.lock").read_text())["pid"] == os.getpid()
    lock.release()


def test_an_unusable_location_is_one_line(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"file/run.lock: cannot create the run lock"):
        RunLock(tmp_path / "file" / "run.lock").acquire()


def _delete(run):
    (run / "run.lock").unlink()


def _replace(run):
    (run / "other").write_text("")
    os.replace(run / "other", run / "run.lock")  # a new inode under the same name


def _replace_with_link(run):
    (run / "run.lock").unlink()
    (run / "run.lock").symlink_to(run.parent / "victim.txt")


@pytest.mark.parametrize("tamper", [_delete, _replace, _replace_with_link])
def test_no_second_writer_whatever_happens_to_the_lock_file(tmp_path, tamper):
    """The run directory itself is locked: removing or replacing run.lock under a live holder
    lets no second process in, and a link in its place never makes us write elsewhere."""
    run = tmp_path / "run"
    run.mkdir()
    (tmp_path / "victim.txt").write_text("keep me")
    holder = RunLock(run / "run.lock")
    holder.acquire()
    tamper(run)
    with pytest.raises(
        RunLockedError, match=rf"{re.escape(str(run))} is in use: its lock .* is held by (PID {os.getpid()}|another)"
    ):
        RunLock(run / "run.lock").acquire()
    # The holder notices at its next check: it records itself again in a file of its own (a link is
    # not followed: the directory's lock alone keeps the second process out).
    note = holder.check()
    assert note is not None and "replaced while this process held it" in note
    assert holder.check() is None  # said once
    if tamper is not _replace_with_link:
        assert json.loads((run / "run.lock").read_text())["pid"] == os.getpid()
    with pytest.raises(RunLockedError, match="is in use"):
        RunLock(run / "run.lock").acquire()
    holder.release()
    assert (tmp_path / "victim.txt").read_text() == "keep me"


def test_a_link_in_place_of_the_lock_file_is_refused_not_followed(tmp_path):
    (tmp_path / "victim.txt").write_text("keep me")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.lock").symlink_to(tmp_path / "victim.txt")
    with pytest.raises(ValueError, match=r"run.lock: cannot create the run lock \(it is a symbolic link"):
        RunLock(tmp_path / "run" / "run.lock").acquire()
    assert (tmp_path / "victim.txt").read_text() == "keep me"


def test_without_directory_locks_a_record_replaced_between_open_and_flock_is_relocked(tmp_path, monkeypatch):
    """Where the filesystem cannot lock a directory (NFS), the record's inode is checked after flock."""
    import fcntl

    from tokenized_cot_icl.foundation import run_lock

    monkeypatch.setattr(RunLock, "_lock_directory", lambda self: None)
    real_flock, other = fcntl.flock, {}

    def racing_flock(fd, operation):
        if not other:  # another process replaces the file and locks the new one just before our flock
            _replace(tmp_path)
            other["fd"] = os.open(tmp_path / "run.lock", os.O_RDWR)
            real_flock(other["fd"], fcntl.LOCK_EX | fcntl.LOCK_NB)
        return real_flock(fd, operation)

    monkeypatch.setattr(run_lock.fcntl, "flock", racing_flock)
    (tmp_path / "run.lock").write_text("")
    with pytest.raises(RunLockedError, match="is in use"):
        RunLock(tmp_path / "run.lock").acquire()
    os.close(other["fd"])


def test_the_holder_stops_when_its_run_directory_is_replaced(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    holder = RunLock(run / "run.lock")
    holder.acquire()
    run.rename(tmp_path / "moved")
    run.mkdir()  # where a second launch could now write
    with pytest.raises(
        RunLockLostError, match=rf"{re.escape(str(run))} was moved or replaced while this process held its lock"
    ):
        holder.check()
    holder.release()
