"""Where an annotation's ``video`` path may point: inside the folder the user named, nowhere else.

Every reader of video paths (``data check``, ``data cache``, the training dataset) goes
through these two functions, so a hostile or careless annotation file cannot make fgvad
read or decode a file outside ``--video-root``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path, PurePosixPath
from typing import Callable

from fgvad.core.datasets import ucf_crime_video_key
from fgvad.core.errors import AnnotationError, VideoError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")


def video_path_problem(root: str | Path, rel: str) -> str | None:
    """Why ``rel`` may not be read below ``root`` (absolute, ``..``, symlink out, bad bytes), or None.

    Annotation files come from other people: a path must never make fgvad read (or
    decode) a file outside the folder the user named.
    """
    if not isinstance(rel, str) or not rel.strip():
        return "empty path"
    if "\x00" in rel:
        return "path contains a NUL character"
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return "path is not valid Unicode"
    posix = rel.replace("\\", "/")
    if PurePosixPath(posix).is_absolute() or re.match(r"^[A-Za-z]:", posix):
        return "absolute path; must be relative to --video-root"
    normal = os.path.normpath(posix)
    if normal == ".." or normal.startswith("../"):
        return "path escapes --video-root ('..')"
    root_resolved = Path(root).resolve()
    try:
        resolved = (Path(root) / normal).resolve()
    except (OSError, RuntimeError) as err:  # symlink loop, name too long
        return f"cannot resolve the path ({type(err).__name__})"
    if resolved != root_resolved and root_resolved not in resolved.parents:
        return f"resolves outside --video-root (symlink to {resolved})"
    return None


def resolve_video_path(root: str | Path, rel: str) -> Path:
    """``root / rel`` (normalised), or AnnotationError when the path would leave ``root``."""
    problem = video_path_problem(root, rel)
    if problem is not None:
        raise AnnotationError(f"video {str(rel)[:200]!r}: {problem}")
    return Path(root) / os.path.normpath(rel.replace("\\", "/"))


def index_video_files(root: str | Path, key: Callable[[str], str] = ucf_crime_video_key) -> dict[str, Path]:
    """Every video file below ``root`` keyed by ``key`` (a dataset's name rule; first found wins, sorted walk)."""
    root = Path(root)
    if not root.is_dir():
        raise VideoError(f"{root}: video root is not a folder")
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for fn in sorted(filenames):
            if fn.lower().endswith(VIDEO_SUFFIXES):
                found.setdefault(key(fn), Path(dirpath) / fn)
    return found
