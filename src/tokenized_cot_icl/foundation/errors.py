"""How an error reaches a user: one line, naming the file or field and what to do."""

from __future__ import annotations


def error_line(err: Exception) -> str:
    """A KeyError's own text (not its repr); an OSError as ``PATH: cause (errno N)``; else the message.

    Writers name the path of an I/O failure (foundation.io.naming_path); an OSError that still has
    none is shown with its cause and number, never as a bare ``[Errno 28]``.
    """
    if isinstance(err, KeyError) and err.args:
        return str(err.args[0])
    if isinstance(err, OSError) and err.strerror:
        cause = err.strerror[:1].lower() + err.strerror[1:]
        if err.errno is not None:
            cause += f" (errno {err.errno})"
        if err.filename2:
            return f"{err.filename} -> {err.filename2}: {cause}"
        return f"{err.filename}: {cause}" if err.filename else cause
    return str(err)
