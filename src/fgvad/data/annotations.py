"""Annotation formats: the users' FG-CLIP VAD JSON and FG-CLIP's image JSON (test files: fgvad.data.testsets).

The training JSON is loaded exactly as users have it (see ../shared/datasets/README.md):
a list of entries with ``video``, ``global_caption``, ``region_captions``, ``box_infos``
(per region a list of ``{"frame": int, "bbox": [x1, y1, x2, y2]}``, normalised xyxy) and
``timestamps`` (``null`` or ``[start_sec, end_sec]`` of a clip). Keyframe numbers in the
real files are 1-based (Label Studio); :class:`Box.frame` is always 0-based after loading.

A structural problem is a problem of its entry: :func:`read_annotations` returns the good
entries plus one :class:`EntryProblem` per malformed entry (a one-line message naming the
entry and field), so every tool can keep going; ``strict=True`` (``--strict``) refuses the
whole file at the first one, and :func:`load_annotations` is that strict load. Value problems
that need the video (keyframe past the end, missing file) and soft problems (slightly
out-of-range boxes) are left to :mod:`fgvad.data.validate`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from fgvad.core.datasets import NORMAL, UCF_CLASSES, known_anomaly_classes, resolve_shipped  # noqa: F401 (re-exported)
# UCF-Crime's key rule (the users' data are UCF-Crime's); MSAD names (``Fire_3``) pass through it unchanged.
from fgvad.core.datasets import ucf_crime_video_key as video_key
from fgvad.core.errors import AnnotationError
from fgvad.core.io import parse_json_text, read_utf8_text
from fgvad.data.paths import mapped_video_path
# The test-side readers live in fgvad.data.testsets (one per benchmark format); re-exported
# here, where callers have always imported them from.
from fgvad.data.testsets import TestVideo, load_frame_counts, load_test_annotation, load_video_list  # noqa: F401

KEYFRAME_BASE_DEFAULT = 1  # the users' files come from Label Studio, which numbers frames from 1


@dataclass(frozen=True)
class Box:
    """One keyframe of a region track: 0-based frame index and normalised xyxy box."""

    frame: int
    xyxy: tuple[float, float, float, float]


@dataclass
class Region:
    caption: str
    boxes: list[Box]
    hard_negatives: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One training sample: a video (or a clip of it, or an image) with its captions."""

    index: int  # position in the source file, for error messages
    video: str  # path relative to the video root, exactly as written in the file
    global_caption: str
    regions: list[Region]
    clip: tuple[float, float] | None = None  # [start, end) in seconds, None = whole video
    label: str = NORMAL
    short_caption: str | None = None
    is_image: bool = False

    @property
    def name(self) -> str:
        """Video file name without folder and extension, e.g. ``Abuse001_x264``."""
        return PurePosixPath(self.video).stem

    @property
    def key(self) -> str:
        """Canonical video identity (see :func:`video_key`); a Label Studio URL names its file."""
        return video_key(mapped_video_path(self.video))

    @property
    def sample_key(self) -> str:
        """Identity of this sample: the video plus its clip, used by the frame cache."""
        if self.clip is None:
            return self.key
        return f"{self.key}@{self.clip[0]:g}-{self.clip[1]:g}"

    @property
    def is_anomaly(self) -> bool:
        return self.label != NORMAL

    @property
    def keyframes(self) -> list[int]:
        """Sorted distinct 0-based keyframe indices over all regions."""
        return sorted({b.frame for r in self.regions for b in r.boxes})


def label_from_path(path: str) -> str:
    """Class name by the registered datasets' conventions: a known class as the name's prefix
    (``Abuse001_x264``, ``People_falling_3``), else the folder; ``Normal`` for normal videos.
    Label Studio URLs are decoded first."""
    parts = PurePosixPath(mapped_video_path(str(path)).replace("\\", "/")).parts
    stem = PurePosixPath(parts[-1]).stem if parts else ""
    if "normal" in stem.lower() or any("normal" in p.lower() for p in parts[:-1]):
        return NORMAL
    for cls in known_anomaly_classes():
        if stem.startswith(cls):
            return cls
    if len(parts) >= 2:
        return parts[-2]
    m = re.match(r"[A-Za-z]+", stem)
    return m.group(0) if m else NORMAL


# --------------------------------------------------------------------------- JSON loading


def read_json_list(path: str | Path) -> list[Any]:
    """Read a JSON file whose top level must be a list; one-line errors for every failure."""
    p = Path(path)
    text = read_utf8_text(p)
    data = parse_json_text(text, p)
    if not isinstance(data, list):
        raise AnnotationError(f"{p}: top level must be a list of entries, found {type(data).__name__}")
    if _SURROGATE_ESCAPE_RE.search(text):
        _reject_lone_surrogates(p, data)
    return data


# A "\ud800"-style escape decodes to a lone surrogate, which is not Unicode: every later
# encode (a file path, a log line, JSON output) would crash on it. Raw UTF-8 bytes cannot
# produce one, so the (slower) full check only runs when such an escape appears.
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _reject_lone_surrogates(p: Path, data: list[Any]) -> None:
    for index, raw in enumerate(data):
        try:
            json.dumps(raw, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise AnnotationError(f"{p}: entry {index}: text holds an unpaired UTF-16 surrogate "
                                  "escape (\\ud800-\\udfff), which is not valid Unicode") from None
        except (RecursionError, ValueError):
            raise AnnotationError(f"{p}: {_where(index, raw)}: JSON nested too deeply") from None


def _where(index: int, raw: Any) -> str:
    video = None
    if isinstance(raw, dict):
        video = raw.get("video", raw.get("f_path"))
    return f"entry {index}" + (f" ({video})" if isinstance(video, str) else "")


def _err(index: int, raw: Any, fld: str, msg: str) -> AnnotationError:
    return AnnotationError(f"{_where(index, raw)}: field '{fld}': {msg}")


def _text(index: int, raw: dict, key: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise _err(index, raw, key, f"expected a string, found {type(value).__name__}")
    return value


def _finite_number(value: Any) -> bool:
    # Exact type tests (JSON gives plain int/float; bool is excluded) keep this cheap on
    # files with millions of boxes; a huge integer literal is not finite as a float.
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    return kind is int and -1e308 < value < 1e308


def _bbox(index: int, raw: dict, fld: str, value: Any) -> tuple[float, float, float, float]:
    if not isinstance(value, list) or len(value) != 4 or not all(_finite_number(v) for v in value):
        raise _err(index, raw, fld, f"bbox must be 4 finite numbers [x1, y1, x2, y2], found {str(value)[:60]}")
    return (float(value[0]), float(value[1]), float(value[2]), float(value[3]))


def _frame(index: int, raw: dict, fld: str, value: Any, keyframe_base: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _err(index, raw, fld, f"keyframe must be an integer, found {str(value)[:40]}")
    if value < keyframe_base:
        raise _err(index, raw, fld, f"keyframe {value} is below the first frame ({keyframe_base}, see --keyframe-base)")
    if value > 10**9:
        raise _err(index, raw, fld, f"keyframe {value} is implausibly large")
    return value - keyframe_base


def _clip(index: int, raw: dict) -> tuple[float, float] | None:
    ts = raw.get("timestamps")
    if ts is None:
        return None
    # Tolerate the nested [[start, end]] spelling of the per-video normal-caption schema.
    if isinstance(ts, list) and len(ts) == 1 and isinstance(ts[0], list):
        ts = ts[0]
    if not isinstance(ts, list) or len(ts) != 2 or not all(_finite_number(v) for v in ts):
        raise _err(index, raw, "timestamps", f"expected null or [start_sec, end_sec], found {str(ts)[:60]}")
    start, end = float(ts[0]), float(ts[1])
    if start < 0 or end <= start:
        raise _err(index, raw, "timestamps", f"clip [{start:g}, {end:g}] s is empty, reversed or negative")
    return (start, end)


def _string_list(index: int, raw: dict, fld: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err(index, raw, fld, "expected a list of strings")
    return list(value)


def parse_video_entry(index: int, raw: dict, keyframe_base: int = KEYFRAME_BASE_DEFAULT) -> Entry:
    """Parse one entry of the users' FG-CLIP VAD format."""
    video = _text(index, raw, "video")
    assert video is not None
    if not video.strip():
        raise _err(index, raw, "video", "empty path")
    global_caption = _text(index, raw, "global_caption")
    captions = raw.get("region_captions", [])
    captions = _string_list(index, raw, "region_captions", captions)
    tracks = raw.get("box_infos", [[] for _ in captions])
    if not isinstance(tracks, list):
        raise _err(index, raw, "box_infos", "expected a list (one keyframe list per region caption)")
    if len(tracks) != len(captions):
        raise _err(index, raw, "box_infos", f"{len(tracks)} box tracks for {len(captions)} region captions")
    hard = raw.get("hard_negatives")
    if hard is not None:
        if not isinstance(hard, list) or len(hard) != len(captions):
            raise _err(index, raw, "hard_negatives", "expected one list of texts per region caption")
        hard = [_string_list(index, raw, f"hard_negatives[{k}]", h) for k, h in enumerate(hard)]
    regions = []
    for k, (caption, track) in enumerate(zip(captions, tracks)):
        if not isinstance(track, list):
            raise _err(index, raw, f"box_infos[{k}]", "expected a list of keyframes")
        boxes = []
        for j, kf in enumerate(track):
            fld = f"box_infos[{k}][{j}]"
            if not isinstance(kf, dict):
                raise _err(index, raw, fld, 'expected {"frame": int, "bbox": [x1, y1, x2, y2]}')
            boxes.append(Box(_frame(index, raw, fld + ".frame", kf.get("frame"), keyframe_base),
                             _bbox(index, raw, fld + ".bbox", kf.get("bbox"))))
        regions.append(Region(caption, boxes, hard[k] if hard else []))
    label = raw.get("label")
    if label is not None and not isinstance(label, str):
        raise _err(index, raw, "label", "expected a class name string")
    return Entry(
        index=index,
        video=video,
        global_caption=global_caption or "",
        regions=regions,
        clip=_clip(index, raw),
        label=(label or label_from_path(video)),
    )


def parse_image_entry(index: int, raw: dict) -> Entry:
    """Parse one entry of FG-CLIP's image format (``f_path``, ``caption``, ``short_caption``, ``bbox_info``).

    Each ``bbox_info`` item carries ``bbox`` (normalised xyxy) and ``short_expr``/``long_expr``
    captions; an image is treated as a one-frame video whose keyframe is frame 0.
    """
    path = _text(index, raw, "f_path")
    caption = _text(index, raw, "caption")
    short = _text(index, raw, "short_caption", required=False)
    infos = raw.get("bbox_info", [])
    if not isinstance(infos, list):
        raise _err(index, raw, "bbox_info", "expected a list")
    regions = []
    for k, info in enumerate(infos):
        fld = f"bbox_info[{k}]"
        if not isinstance(info, dict):
            raise _err(index, raw, fld, "expected an object with bbox and a caption")
        text = info.get("long_expr", info.get("short_expr", info.get("caption")))
        if not isinstance(text, str):
            raise _err(index, raw, fld, "no caption (long_expr/short_expr)")
        regions.append(Region(text, [Box(0, _bbox(index, raw, fld + ".bbox", info.get("bbox")))]))
    return Entry(index=index, video=path or "", global_caption=caption or "", regions=regions,
                 label=raw.get("label") if isinstance(raw.get("label"), str) else NORMAL,
                 short_caption=short, is_image=True)


def parse_entry(index: int, raw: Any, keyframe_base: int = KEYFRAME_BASE_DEFAULT) -> Entry:
    if not isinstance(raw, dict):
        raise AnnotationError(f"entry {index}: expected an object, found {type(raw).__name__}")
    if "video" in raw:
        return parse_video_entry(index, raw, keyframe_base)
    if "f_path" in raw:
        return parse_image_entry(index, raw)
    raise AnnotationError(f"entry {index}: field 'video': missing (nor is it an image entry with 'f_path')")


# --------------------------------------------------------------------------- entry by entry


@dataclass(frozen=True)
class EntryProblem:
    """Why one entry of a file cannot be used; ``message`` is the one-line error naming it."""

    index: int
    video: str | None  # the entry's video (or image) path when it has a readable one
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class LoadedAnnotations:
    """A file's entries parsed one by one: the usable ones and a problem for each other one.

    ``outcomes[i]`` is entry ``i``'s :class:`Entry` or :class:`EntryProblem`, for tools that
    rewrite the file entry by entry (split, hardneg) and must carry bad entries through.
    """

    outcomes: list[Entry | EntryProblem]
    source: str = ""

    @property
    def entries(self) -> list[Entry]:
        return [o for o in self.outcomes if isinstance(o, Entry)]

    @property
    def problems(self) -> list[EntryProblem]:
        return [o for o in self.outcomes if isinstance(o, EntryProblem)]

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def summary(self) -> str:
        """``13 of 2426 entries are malformed`` (or that none is)."""
        bad = len(self.problems)
        return f"{bad} of {self.total} entries {'is' if bad == 1 else 'are'} malformed"


def raw_video(raw: Any) -> str | None:
    """The ``video`` (or image ``f_path``) string of a raw entry, whatever else is wrong with it."""
    if isinstance(raw, dict):
        value = raw.get("video", raw.get("f_path"))
        if isinstance(value, str):
            return value
    return None


def parse_each(raw_entries: Iterable[Any], keyframe_base: int = KEYFRAME_BASE_DEFAULT,
               source: str = "") -> LoadedAnnotations:
    """Parse every entry; a malformed one becomes an :class:`EntryProblem` instead of stopping."""
    outcomes: list[Entry | EntryProblem] = []
    for index, raw in enumerate(raw_entries):
        try:
            outcomes.append(parse_entry(index, raw, keyframe_base))
        except AnnotationError as err:
            outcomes.append(EntryProblem(index, raw_video(raw), str(err)))
    return LoadedAnnotations(outcomes, source)


def parse_entries(raw_entries: Iterable[Any], keyframe_base: int = KEYFRAME_BASE_DEFAULT) -> list[Entry]:
    """Every entry, or AnnotationError at the first malformed one (whole-file refusal)."""
    return [parse_entry(i, raw, keyframe_base) for i, raw in enumerate(raw_entries)]


def _check_base(keyframe_base: int) -> None:
    if keyframe_base not in (0, 1):
        raise AnnotationError(f"keyframe base must be 0 or 1, not {keyframe_base}")


def read_annotations(path: str | Path, keyframe_base: int = KEYFRAME_BASE_DEFAULT, *,
                     strict: bool = False) -> LoadedAnnotations:
    """A training JSON entry by entry: good entries plus one problem per malformed entry.

    ``strict``: raise the first entry's :class:`AnnotationError` instead (``--strict``). A
    file that is not a JSON list of entries is an error either way.
    """
    _check_base(keyframe_base)
    raw = read_json_list(path)
    if strict:
        return LoadedAnnotations(list(parse_entries(raw, keyframe_base)), str(path))
    return parse_each(raw, keyframe_base, str(path))


def load_annotations(path: str | Path, keyframe_base: int = KEYFRAME_BASE_DEFAULT) -> list[Entry]:
    """Load a training JSON (video or image format, or both mixed), all or nothing: AnnotationError
    at the first malformed entry. Tools that should keep going use :func:`read_annotations`."""
    return read_annotations(path, keyframe_base, strict=True).entries
