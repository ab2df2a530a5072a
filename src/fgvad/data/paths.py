"""Where an annotation's ``video`` path may point: inside the folder the user named, nowhere else.

Every reader of video paths (``data check``, ``data cache``, ``data split``, the training
dataset) goes through these functions, so a hostile or careless annotation file cannot make
fgvad read or decode a file outside ``--video-root``.

Paths are mapped before they are checked:

- a Label Studio local-files URL, ``/data/local-files/?d=REL`` (optionally with a
  ``http(s)://host`` in front), stands for ``REL``, URL-decoded: Label Studio serves
  ``LOCAL_FILES_DOCUMENT_ROOT/REL`` under that URL, so ``--video-root`` is that document root;
- ``--path-map OLD=NEW`` (any number) replaces the prefix ``OLD`` by ``NEW`` (the longest
  matching ``OLD`` wins), for exports with other absolute prefixes (``/data/upload/``,
  ``/mnt/old_server/videos/``). ``NEW`` is relative to ``--video-root`` and may be empty.

The mapped path then gets the same guard as any other: no absolute path, no ``..``, no
symlink leaving the root.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable
from urllib.parse import unquote

from fgvad.core.datasets import ucf_crime_video_key
from fgvad.core.errors import AnnotationError, UsageError, VideoError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")
# Label Studio's local-files URL; "d" is the path below LOCAL_FILES_DOCUMENT_ROOT.
_LABEL_STUDIO_RE = re.compile(r"^(?:https?://[^/?#]+)?/data/local-files/?\?(?:[^#]*&)?d=([^&#]*)")


def label_studio_path(video: str) -> str | None:
    """``REL`` (URL-decoded) of a Label Studio ``/data/local-files/?d=REL`` URL, else None."""
    match = _LABEL_STUDIO_RE.match(video)
    return unquote(match.group(1)) if match else None


@dataclass(frozen=True)
class PathMap:
    """Prefix rewrites applied to every ``video`` path before it is resolved (see the module docstring)."""

    rules: tuple[tuple[str, str], ...] = ()

    def apply(self, video: str) -> str:
        for old, new in sorted(self.rules, key=lambda rule: -len(rule[0])):
            if video.startswith(old):
                return new + video[len(old):]
        decoded = label_studio_path(video)
        return decoded if decoded is not None else video


NO_MAP = PathMap()


def parse_path_map(values: Iterable[str] | None) -> PathMap:
    """``["OLD=NEW", ...]`` (``--path-map``) -> :class:`PathMap`; a UsageError names a bad one."""
    rules = []
    for value in values or ():
        old, eq, new = str(value).partition("=")
        if not eq or not old:
            raise UsageError(f"--path-map {value!r}: expected OLD=NEW (NEW may be empty), e.g. "
                             "--path-map /data/upload/=uploads/")
        rules.append((old, new))
    return PathMap(tuple(rules))


def mapped_video_path(video: str, path_map: PathMap | None = None) -> str:
    """The path a ``video`` field stands for after Label Studio decoding and ``--path-map``."""
    return (path_map or NO_MAP).apply(video) if isinstance(video, str) else video


def video_path_problem(root: str | Path, rel: str, path_map: PathMap | None = None) -> str | None:
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
    mapped = mapped_video_path(rel, path_map)
    if mapped != rel:
        if "\x00" in mapped or not mapped.strip():
            return f"maps to {mapped!r}, not a usable path"
        try:
            mapped.encode("utf-8")
        except UnicodeEncodeError:
            return "maps to a path that is not valid Unicode"
    posix = mapped.replace("\\", "/")
    if PurePosixPath(posix).is_absolute() or re.match(r"^[A-Za-z]:", posix):
        if mapped != rel:
            return f"maps to the absolute path {mapped[:200]!r}; must be relative to --video-root"
        return "absolute path; must be relative to --video-root (rewrite its prefix with --path-map OLD=NEW)"
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


def resolve_video_path(root: str | Path, rel: str, path_map: PathMap | None = None) -> Path:
    """``root / rel`` (mapped and normalised), or AnnotationError when the path would leave ``root``."""
    problem = video_path_problem(root, rel, path_map)
    if problem is not None:
        raise AnnotationError(f"video {str(rel)[:200]!r}: {problem}")
    return Path(root) / os.path.normpath(mapped_video_path(rel, path_map).replace("\\", "/"))


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
