"""File helpers for every layer: atomic writes, and strict UTF-8 / JSON reading with one-line errors.

Atomic: a file is written under a temporary name in the same folder and renamed onto the
final name (``os.replace`` is atomic on POSIX and Windows), so a crash or Ctrl-C never
leaves half a file where a later run would read it. The temporary file is created with the
process's normal permissions (not ``mkstemp``'s 0600), so outputs stay readable as usual.

Reading: users' files come from many tools. Errors name the file and say what is wrong in
one line (missing, unreadable, not UTF-8 with the byte offset, invalid JSON with line and
column); the caller chooses the :class:`~fgvad.core.errors.FgvadError` subclass. A UTF-8 byte
order mark (Windows editors write one) is dropped, or it would become part of the first
video name; writers that copy a file byte for byte ask to keep it.

Writing: :func:`check_output_path` is the one check every command runs on its output path
before any work, so a mistyped or unwritable path costs one line, not a traceback after an
hour of decoding.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import secrets
import tempfile
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


def read_utf8_text(path: str | Path, *, what: str | None = None, error: type[FgvadError] = AnnotationError,
                   keep_bom: bool = False) -> str:
    """A file's text, with one-line errors for missing, unreadable or non-UTF-8 files.

    ``what`` names the file's role in the messages ("test list not found"); ``error`` is the
    error class raised. A leading BOM is dropped unless ``keep_bom`` (writers that preserve it).
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
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise error(f"{p}: {role}not UTF-8 text (byte {err.start})") from None
    return text if keep_bom else text.removeprefix("\ufeff")


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


def read_format_json(path: str | Path, fmt: str, *, error: type[FgvadError], not_it: str) -> dict[str, Any] | None:
    """One of fgvad's own meta files: a JSON object whose ``format`` is ``fmt``; None when the
    file is not there; ``error("<path>: <not_it>")`` when it is something else."""
    path = Path(path)
    if not path.is_file():
        return None
    meta = read_json(path, error=error)
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise error(f"{path}: {not_it}")
    return meta


# --------------------------------------------------------------------------- output paths

_WRITE_ERRORS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted (immutable or append-only?)",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
}


def _why(err: OSError) -> str:
    return _WRITE_ERRORS.get(err.errno or 0, (err.strerror or str(err)).lower())


def _cannot_create_in(folder: Path) -> str | None:
    """Why a new file cannot be created in the existing ``folder`` (None when it can).

    A real probe file, not ``os.access``: access() is blind to read-only mounts for some
    file systems and to the ownership rules of network ones, the probe is not.
    """
    try:
        fd, probe = tempfile.mkstemp(prefix=".fgvad-write-test-", dir=folder)
    except OSError as err:
        return _why(err)
    os.close(fd)
    os.unlink(probe)
    return None


def _cannot_replace(file: Path) -> str | None:
    """Why the existing ``file`` cannot be overwritten (None when it can). Opens it for
    appending and writes nothing, so its content and times stay as they are."""
    try:
        fd = os.open(file, os.O_WRONLY | os.O_APPEND)
    except OSError as err:
        return _why(err)
    os.close(fd)
    return None


def existing_ancestor(path: str | Path) -> Path:
    """``path`` itself when it exists, else its nearest existing parent (what a write would land in)."""
    p = Path(path)
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check_output_path(path: str | Path, *, flag: str = "--out", folder: bool = False,
                      error: type[FgvadError] = UsageError) -> Path:
    """Refuse, in one line naming ``flag`` and the path, an output that cannot be written.

    ``folder``: the output is a folder (created later when missing), else a file (replaced
    when present). Refused: it exists as the other kind, it would lie under a file, or the
    folder it goes into (its nearest existing ancestor) or the file it replaces is not
    writable: permissions, a read-only file system, an immutable flag. Creates nothing.
    """
    p = Path(path)
    label = f"{flag} {p}" if flag else str(p)
    too_long = next((part for part in p.parts if len(os.fsencode(part)) > 255), None)
    if too_long is not None:  # NAME_MAX of every common file system; the write would fail after the work
        raise error(f"{label}: a name in the path is longer than 255 bytes ({too_long[:20]}...)")
    if p.is_dir() and not folder:
        raise error(f"{label}: is a folder; give a file name")
    if p.exists() and not p.is_dir() and folder:
        raise error(f"{label}: exists and is a file, not a folder")
    target = p if (folder or p.is_dir()) else p.parent
    existing = existing_ancestor(target)
    if not existing.is_dir():
        raise error(f"{label}: cannot be created: {existing} is a file, not a folder")
    problem = _cannot_create_in(existing)
    if problem:
        where = "" if existing == target else f" (in {existing})"
        raise error(f"{label}: not writable{where}: {problem}")
    if p.is_file():
        problem = _cannot_replace(p)
        if problem:
            raise error(f"{label}: exists and cannot be overwritten: {problem}")
    return p


@contextmanager
def output_lock(path: str | Path, *, flag: str = "--out") -> Iterator[None]:
    """Hold, while a command runs, the right to write ``path``: a second fgvad command writing the
    same output (two terminals, a script run twice) stops in one line instead of interleaving files.

    The lock is an ``flock`` on a file in the system temp folder named after the resolved path, so
    nothing is added to the user's folders and the lock ends with the process, however it ends.
    Where no lock file can be made (a read-only temp folder), the command runs unlocked."""
    key = hashlib.sha1(str(Path(path).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:20]
    try:
        folder = Path(tempfile.gettempdir()) / "fgvad-locks"
        folder.mkdir(mode=0o777, exist_ok=True)
        fd = os.open(folder / f"{key}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            raise UsageError(f"{flag} {path}: another fgvad command ({holder}) is writing there; "
                             "wait for it or choose another output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)
