"""`fgvad data check`: validate an annotation JSON against its videos, reporting every problem.

Unlike the loader (which stops at the first structural error), the checker walks the raw
JSON entry by entry and collects every problem as one line: entry index, video, field,
what is wrong. Each distinct video is probed once, in a thread pool.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

from fgvad.core.datasets import dataset_of
from fgvad.core.errors import AnnotationError, FgvadError, UsageError, one_line
from fgvad.core.text import non_latin_letters, script_name
from fgvad.data.annotations import (
    KEYFRAME_BASE_DEFAULT,
    parse_image_entry,
    read_json_list,
    video_key,
    _clip,
    _frame,
    _bbox,
)
from fgvad.data.paths import PathMap, mapped_video_path, video_path_problem

LONG_TEXT_TOKENS = 248  # FG-CLIP's long-text context, start and end tokens included

@dataclass
class Problem:
    index: int
    video: str
    field: str
    message: str

    def __post_init__(self) -> None:  # paths and captions come from the user: keep each problem one line
        self.video = one_line(self.video)
        self.message = one_line(self.message)


@dataclass
class CheckReport:
    entries: int = 0
    videos: int = 0
    regions: int = 0
    keyframes: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    datasets: Counter = field(default_factory=Counter)  # registered dataset (or "other") -> entries

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "datasets": dict(self.datasets),
            "videos": self.videos,
            "regions": self.regions,
            "keyframes": self.keyframes,
            "errors": [asdict(p) for p in self.errors],
            "warnings": [asdict(p) for p in self.warnings],
        }


# --------------------------------------------------------------------------- text checks

# CLIP's pre-tokeniser splits on contractions, letter runs, single digits and punctuation
# runs before BPE; BPE only splits further, so this count is a lower bound.
_PRETOKEN_RE = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+|_+", re.IGNORECASE)


def estimate_tokens(text: str) -> int:
    """Lower bound on the CLIP token count of ``text``, start and end tokens included."""
    return len(_PRETOKEN_RE.findall(text.lower())) + 2


# --------------------------------------------------------------------------- entry checks


class _Checker:
    def __init__(self, video_root: Path, keyframe_base: int, readable_scripts: Iterable[str] = (),
                 path_map: PathMap | None = None):
        self.root = video_root
        self.readable_scripts = frozenset(readable_scripts)
        self.path_map = path_map
        self.root_resolved = video_root.resolve()
        self.base = keyframe_base
        self.report = CheckReport()
        # per entry: (index, video label, resolved path or None, clip, [(field, keyframe)])
        self.video_uses: list[tuple[int, str, Path, tuple[float, float] | None, list[tuple[str, int]]]] = []
        self.seen: dict[tuple, int] = {}

    def error(self, index: int, video: str, fld: str, message: str) -> None:
        self.report.errors.append(Problem(index, video, fld, message))

    def warn(self, index: int, video: str, fld: str, message: str) -> None:
        self.report.warnings.append(Problem(index, video, fld, message))

    def check_caption(self, index: int, video: str, fld: str, value: Any) -> str | None:
        if not isinstance(value, str):
            self.error(index, video, fld, f"expected a string, found {type(value).__name__}")
            return None
        if not value.strip():
            self.error(index, video, fld, "empty caption")
            return value
        letters = "".join(ch for ch in non_latin_letters(value) if script_name(ch) not in self.readable_scripts)
        if letters:
            scripts = sorted({script_name(ch) for ch in letters})
            self.warn(index, video, fld, f"not English: contains {'/'.join(scripts)} letters {letters[:12]!r}")
        tokens = estimate_tokens(value)
        if tokens > LONG_TEXT_TOKENS:
            self.warn(index, video, fld, f"about {tokens} tokens, more than {LONG_TEXT_TOKENS} (the text encoder "
                                         "truncates the rest)")
        return value

    def resolve(self, index: int, video: str, rel: str) -> Path | None:
        """The video's path under the root, or None (with an error) when it escapes the root."""
        problem = video_path_problem(self.root, rel, self.path_map)
        if problem is not None:
            self.error(index, video, "video", problem)
            return None
        return self.root / os.path.normpath(mapped_video_path(rel, self.path_map).replace("\\", "/"))

    def check_box(self, index: int, video: str, raw: dict, fld: str, value: Any) -> None:
        try:
            x1, y1, x2, y2 = _bbox(index, raw, fld, value)
        except AnnotationError as err:
            self.error(index, video, fld, _message(err))
            return
        outside = [f"{name} {v!r}" for name, v in zip(("x1", "y1", "x2", "y2"), (x1, y1, x2, y2)) if not 0 <= v <= 1]
        if outside:
            self.error(index, video, fld, f"{', '.join(outside)} outside [0, 1]")
        if x2 <= x1:
            self.error(index, video, fld, f"x2 {x2!r} <= x1 {x1!r} (inverted or empty box)")
        if y2 <= y1:
            self.error(index, video, fld, f"y2 {y2!r} <= y1 {y1!r} (inverted or empty box)")

    def check_entry(self, index: int, raw: Any) -> None:
        rep = self.report
        if not isinstance(raw, dict):
            self.error(index, "-", "entry", f"expected an object, found {type(raw).__name__}")
            return
        if "video" not in raw and "f_path" in raw:
            self.check_image(index, raw)
            return
        rel = raw.get("video")
        if not isinstance(rel, str) or not rel.strip():
            self.error(index, "-", "video", "missing or empty video path")
            video = "-"
            path = None
        else:
            video = PurePosixPath(mapped_video_path(rel, self.path_map).replace("\\", "/")).name
            spec = dataset_of(video)
            rep.datasets[spec.name if spec else "other"] += 1
            path = self.resolve(index, video, rel)
        self.check_caption(index, video, "global_caption", raw.get("global_caption"))
        captions = raw.get("region_captions", [])
        if not isinstance(captions, list):
            self.error(index, video, "region_captions", "expected a list of strings")
            captions = []
        for k, caption in enumerate(captions):
            self.check_caption(index, video, f"region_captions[{k}]", caption)
        rep.regions += len(captions)
        tracks = raw.get("box_infos", [[] for _ in captions])
        if not isinstance(tracks, list):
            self.error(index, video, "box_infos", "expected a list (one keyframe list per region caption)")
            tracks = []
        elif len(tracks) != len(captions):
            self.error(index, video, "box_infos",
                       f"{len(tracks)} box tracks for {len(captions)} region captions (lengths must match)")
        keyframes: list[tuple[str, int]] = []
        for k, track in enumerate(tracks):
            if not isinstance(track, list):
                self.error(index, video, f"box_infos[{k}]", "expected a list of keyframes")
                continue
            for j, kf in enumerate(track):
                fld = f"box_infos[{k}][{j}]"
                rep.keyframes += 1
                if not isinstance(kf, dict):
                    self.error(index, video, fld, 'expected {"frame": int, "bbox": [x1, y1, x2, y2]}')
                    continue
                try:
                    keyframes.append((fld + ".frame", _frame(index, raw, fld + ".frame", kf.get("frame"), self.base)))
                except AnnotationError as err:
                    self.error(index, video, fld + ".frame", _message(err))
                self.check_box(index, video, raw, fld + ".bbox", kf.get("bbox"))
        clip = None
        try:
            clip = _clip(index, raw)
        except AnnotationError as err:
            self.error(index, video, "timestamps", _message(err))
        hard = raw.get("hard_negatives")
        if hard is not None and (not isinstance(hard, list) or len(hard) != len(captions)
                                 or not all(isinstance(h, list) and all(isinstance(t, str) for t in h) for h in hard)):
            self.error(index, video, "hard_negatives", "expected one list of texts per region caption")
        if "label" in raw and not isinstance(raw["label"], str):
            self.error(index, video, "label", "expected a class name string")
        if isinstance(rel, str):
            ident = (video_key(rel), _fingerprint(raw.get("timestamps")),
                     _fingerprint(raw.get("global_caption")), _fingerprint(captions))
            if ident in self.seen:
                self.error(index, video, "entry", f"duplicate of entry {self.seen[ident]} (same video, clip and captions)")
            else:
                self.seen[ident] = index
        if path is not None:
            self.video_uses.append((index, video, path, clip, keyframes))

    def check_image(self, index: int, raw: dict) -> None:
        rel = raw.get("f_path")
        video = PurePosixPath(rel).name if isinstance(rel, str) else "-"
        try:
            entry = parse_image_entry(index, raw)
        except AnnotationError as err:
            self.error(index, video, "entry", _message(err))
            return
        self.check_caption(index, video, "caption", entry.global_caption)
        self.report.regions += len(entry.regions)
        for k, info in enumerate(raw.get("bbox_info", [])):
            self.check_box(index, video, raw, f"bbox_info[{k}].bbox", info.get("bbox"))
        path = self.resolve(index, video, entry.video)
        if path is not None and not os.path.isfile(path):  # isfile, unlike Path.is_file, never raises
            self.error(index, video, "f_path", f"file not found: {path}")

    def check_videos(self, workers: int = 8) -> None:
        """Probe each distinct video once and check keyframes and clips against it."""
        from fgvad.data.video import VideoInfo, clip_range, probe_video

        paths = sorted({str(use[2]) for use in self.video_uses})
        self.report.videos = len({video_key(p) for p in paths})
        results: dict[str, VideoInfo | str] = {}

        def probe(p: str) -> tuple[str, VideoInfo | str]:
            if not os.path.exists(p):
                return p, f"file not found: {p}"
            try:
                return p, probe_video(p)
            except FgvadError as err:
                return p, _message(err, strip_path=p)
            except Exception as err:  # noqa: BLE001 - a broken file must not stop the check
                return p, f"cannot read: {type(err).__name__}: {err}"

        existing = [p for p in paths if os.path.exists(p)]
        for p in paths:
            if p not in existing:
                results[p] = f"file not found: {p}"
        if existing:
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(existing)))) as pool:
                results.update(pool.map(probe, existing))
        for index, video, path, clip, keyframes in self.video_uses:
            info = results[str(path)]
            if isinstance(info, str):
                self.error(index, video, "video", info)
                continue
            for fld, frame in keyframes:
                if frame >= info.n_frames:
                    self.error(index, video, fld, f"keyframe {frame + self.base} (base {self.base}) is at or beyond "
                                                  f"the video's {info.n_frames} frames")
            if clip is not None:
                try:
                    clip_range(info, clip)
                except FgvadError as err:
                    self.error(index, video, "timestamps", _message(err))


def _fingerprint(value: Any) -> str:
    """A hashable identity of any JSON value (for duplicate detection); never raises."""
    try:
        return json.dumps(value, sort_keys=True)
    except (RecursionError, ValueError, TypeError):
        return repr(type(value))


def _message(err: Exception, strip_path: str | None = None) -> str:
    """The reason part of an error message (the line already names entry, video and field)."""
    text = str(err)
    if strip_path and text.startswith(strip_path + ": "):
        return text[len(strip_path) + 2:]
    match = re.match(r"^entry \d+(?: \([^)]*\))?: field '[^']*': (.*)$", text)
    return match.group(1) if match else text


def check_annotations(path: str | Path, video_root: str | Path, keyframe_base: int = KEYFRAME_BASE_DEFAULT,
                      workers: int = 8, readable_scripts: Iterable[str] = (),
                      path_map: PathMap | None = None) -> CheckReport:
    """Validate every entry of the JSON at ``path`` against the videos under ``video_root``
    (``video`` paths mapped by ``path_map`` and Label Studio decoding first).

    ``readable_scripts``: scripts (``fgvad.core.text.script_name``) the model reads besides
    Latin, whose letters are not reported (a bilingual model: ``CHINESE_SCRIPTS``).
    """
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{p}: annotation file not found")
    raw_entries = read_json_list(p)
    checker = _Checker(Path(video_root), keyframe_base, readable_scripts, path_map)
    checker.report.entries = len(raw_entries)
    for index, raw in enumerate(raw_entries):
        checker.check_entry(index, raw)
    checker.check_videos(workers)
    checker.report.errors.sort(key=lambda prob: prob.index)
    checker.report.warnings.sort(key=lambda prob: prob.index)
    return checker.report


def format_problem(level: str, prob: Problem) -> str:
    return f"{level:<8}entry {prob.index}  {prob.video}  {prob.field}  {prob.message}"


def format_summary(report: CheckReport) -> str:
    datasets = ""
    if len(report.datasets) > 1 or set(report.datasets) - {"ucf-crime", "other"}:  # a mixed or non-UCF file
        datasets = " (" + ", ".join(f"{name} {n}" for name, n in report.datasets.most_common()) + ")"
    bad_entries = len({p.index for p in report.errors})
    return (f"{report.entries} entries{datasets}, {report.videos} videos, {report.regions} regions, "
            f"{report.keyframes} keyframes: {len(report.errors)} errors in {bad_entries} entries, "
            f"{len(report.warnings)} warnings")
