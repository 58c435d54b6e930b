"""Small C kernels, compiled on first use with the system C compiler and cached.

A kernel is one C file with no Python API, loaded with :mod:`ctypes` (which releases the GIL
during the call). The shared library is built once per source, compiler and machine into
``$COT_ICL_CACHE`` (default ``$XDG_CACHE_HOME/tokenized_cot_icl`` or
``~/.cache/tokenized_cot_icl``), written to a temporary name and renamed into place, so that
DataLoader workers and ranks starting together never load a half-written file.

Every kernel has a numpy implementation that gives identical results; it is used when
``COT_ICL_NATIVE=0`` is set or when no compiler is found or the build fails (a warning says
why, once). Tests run both.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

ENV_SWITCH = "COT_ICL_NATIVE"
ENV_CACHE = "COT_ICL_CACHE"
# -march=native: the library is built on, and for, the machine that runs it (the cache key names the
# CPU); where the compiler lacks the flag, the portable build follows. gnu11 keeps multiply-adds fused.
FLAG_SETS = (
    ("-O3", "-march=native", "-shared", "-fPIC", "-std=gnu11", "-Wno-psabi"),
    ("-O3", "-shared", "-fPIC", "-std=gnu11"),
)


def native_enabled() -> bool:
    """False when ``COT_ICL_NATIVE`` is ``0``, ``false``, ``no`` or ``off``."""
    value = os.environ.get(ENV_SWITCH, "1").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on", ""):
        return True
    raise ValueError(f"{ENV_SWITCH} must be 0 or 1 (or true/false, yes/no, on/off); got {value!r}")


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tokenized_cot_icl"


def _compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


@functools.cache
def _cpu() -> str:
    """What ``-march=native`` depends on: the CPU's model and feature flags."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    wanted = ("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted({line for line in lines if line.split(":")[0].strip() in wanted}))


@functools.cache
def _compiler_version(compiler: str) -> str:
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def build(source: Path, extra: Sequence[str] = ()) -> Path:
    """The shared library of ``source``, compiled unless this source, compiler and machine already
    have one in the cache. ``extra``: compiler arguments after the source (include directories,
    static libraries to link in); the files among them are part of the cache key too. Raises
    ``RuntimeError`` (with the compiler's message) if it cannot be built."""
    compiler = _compiler()
    if compiler is None:
        raise RuntimeError("no C compiler found (set CC, or install cc, gcc or clang)")
    text = source.read_bytes()
    identity = [text, compiler.encode(), _compiler_version(compiler).encode(), _cpu().encode()]
    identity += [platform.machine().encode(), platform.system().encode()]
    for argument in extra:
        identity.append(argument.encode())
        if os.path.isfile(argument):
            identity.append(Path(argument).read_bytes())
    key = hashlib.sha256(b"\0".join(identity)).hexdigest()[:20]
    target = cache_dir() / "native" / f"{source.stem}-{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for flags in FLAG_SETS:
        fd, tmp = tempfile.mkstemp(prefix=f".{source.stem}-", suffix=".so", dir=target.parent)
        os.close(fd)
        try:
            try:
                result = subprocess.run(
                    [compiler, *flags, "-o", tmp, str(source), *extra, "-lm"],
                    capture_output=True,
                    text=True,
                    timeout=300,
                )
            except OSError as error:
                raise RuntimeError(f"the C compiler {compiler} cannot be run: {error}") from error
            if result.returncode == 0:
                os.replace(tmp, target)  # atomic: a concurrent builder's identical file may win, either is fine
                return target
            errors.append(f"{' '.join(flags)}: {result.stderr.strip()}")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    raise RuntimeError(f"{compiler} could not build {source.name}:\n" + "\n".join(errors))


def address(array) -> int:
    """The address of a numpy array's first element, for a kernel's pointer argument.

    ``array.ctypes.data`` costs ~1.4 us; a ctypes view of a writable contiguous array's buffer
    costs a third of that, which counts for kernels called a few times a prompt. Other arrays
    (read-only, strided, empty) take the slow way.
    """
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except (TypeError, ValueError, BufferError):
        return array.ctypes.data


def load(source: Path, extra: Sequence[str] = ()) -> ctypes.CDLL | None:
    """The loaded library of ``source`` (built with ``extra`` as in :func:`build`), or None when
    native kernels are switched off (``COT_ICL_NATIVE=0``) or it cannot be built (one warning says
    why); callers then use their numpy implementation."""
    return _load(Path(source), tuple(extra)) if native_enabled() else None


@functools.cache
def _load(source: Path, extra: tuple[str, ...]) -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(str(build(source, extra)))
    except (RuntimeError, OSError, subprocess.SubprocessError) as error:
        warnings.warn(f"{source.name}: using the numpy implementation: {error}", RuntimeWarning, stacklevel=3)
        return None
