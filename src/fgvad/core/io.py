"""File helpers for every layer: atomic writes, and strict UTF-8 / JSON reading with one-line errors.

Atomic: a file is written under a temporary name in the same folder and renamed onto the
final name (``os.replace`` is atomic on POSIX and Windows), so a crash or Ctrl-C never
leaves half a file where a later run would read it. The temporary file is created with the
process's normal permissions (not ``mkstemp``'s 0600), so outputs stay readable as usual.

Reading: users' files come from many tools. Errors name the file and say what is wrong in
one line (missing, unreadable, not UTF-8 with the byte offset, invalid JSON with line and
column); the caller chooses the :class:`~fgvad.core.errors.FgvadError` subclass.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from fgvad.core.errors import AnnotationError, FgvadError, UsageError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write to; renamed onto ``path`` on success, removed on error.

    The temporary name keeps the final suffix (``.npy``, ``.mp4``), which writers such as
    ``np.save`` rely on. A missing output folder is a :class:`UsageError`.
    """
    p = Path(path)
    if not p.parent.is_dir():
        raise UsageError(f"{p}: output folder {p.parent} does not exist")
    tmp = p.with_name(f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp{p.suffix}")
    try:
        yield tmp
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` as UTF-8, newlines as given, via a temporary file and a rename."""
    with atomic_path(path) as tmp, open(tmp, "x", encoding="utf-8", newline="") as fh:
        fh.write(text)


def read_utf8_text(path: str | Path, *, what: str | None = None, error: type[FgvadError] = AnnotationError) -> str:
    """A file's text (a leading BOM kept), with one-line errors for missing, unreadable or non-UTF-8 files.

    ``what`` names the file's role in the messages ("test list not found"); ``error`` is the
    error class raised.
    """
    p = Path(path)
    role = f"{what} " if what else ""
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise error(f"{p}: {what or 'file'} not found") from None
    except OSError as err:
        raise error(f"{p}: cannot read {role}({err.strerror or err})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{p}: {role}not UTF-8 text (byte {err.start})") from None


def json_error(path: str | Path, err: json.JSONDecodeError, error: type[FgvadError] = AnnotationError) -> FgvadError:
    """The one-line error for a JSON syntax error in ``path``."""
    return error(f"{path}: invalid JSON at line {err.lineno} column {err.colno}: {err.msg}")


def parse_json_text(text: str, path: str | Path, error: type[FgvadError] = AnnotationError) -> Any:
    """``json.loads`` of a file's text (BOM removed first) with one-line errors naming the file."""
    try:
        return json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as err:
        raise json_error(path, err, error) from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply") from None
    except ValueError as err:  # e.g. an integer literal longer than Python's 4300-digit limit
        raise error(f"{path}: invalid JSON: {str(err).split(';')[0]}") from None


def read_json(path: str | Path, *, what: str | None = None, error: type[FgvadError] = AnnotationError) -> Any:
    """:func:`read_utf8_text` then :func:`parse_json_text`: any JSON file, one-line errors."""
    return parse_json_text(read_utf8_text(path, what=what, error=error), path, error)
