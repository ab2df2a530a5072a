"""`fgvad data convert`: the per-video normal-caption schema -> training entries.

The users' normal-video captions (ucf_normal_videos_1_240_finally.json) use a second
schema, ``{video: {clip: {timestamps: [[s, e]], global: {Caption}, region: [{caption}]}}}``,
with a few top-level keys that are bare clips. Its known faults (../shared/datasets/README.md):
placeholder ``[[0.0, 0.0]]`` timestamps on most clips, one reversed pair, clips whose
name points at the neighbouring video, and Chinese captions. Every fault is counted in the
summary; nothing is dropped silently.

Misfiled clips: in the real file the Normal_Videos158 key holds a clip named
``Normal_Videos157_x264_1`` whose timestamps and captions continue the *158* sequence,
and ``Normal_Videos157_x264_1`` already exists under its own key; the same holds one
video later. The key, not the clip name, is therefore the default owner
(``--misfiled key``); ``name`` refiles by the clip name and ``drop`` removes them.

A malformed clip (not an object, a caption that is not a string) is a problem of that clip:
it is reported and left out, the rest is converted (``strict`` refuses the file instead). It
cannot be carried through as it is, since the output is another schema.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fgvad.core.errors import AnnotationError, VideoError
from fgvad.core.io import read_json, write_text_atomic
from fgvad.core.text import is_non_english
from fgvad.data.annotations import EntryProblem, load_video_list, video_key

_CLIP_RE = re.compile(r"^(?P<video>.+?)_(?P<k>\d+)(?:\.[A-Za-z0-9]+)?$")
DURATION_TOLERANCE_S = 0.5  # the file's end times are rounded to 0.01-1 s; do not drop a clip for that


@dataclass
class Clip:
    """One clip of the source file, with where it was found."""

    name: str  # clip name as written (e.g. Normal_Videos001_x264_2.mp4)
    filed_under: str | None  # the video key it sits under; None for a top-level stray clip
    raw: Any


@dataclass
class ConvertReport:
    n_video_keys: int = 0
    n_stray: int = 0
    n_clips: int = 0
    kept: int = 0
    whole_video: Counter = field(default_factory=Counter)  # reason -> clips kept as the whole video
    dropped: Counter = field(default_factory=Counter)  # reason -> clips dropped
    examples: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few clip names
    misfiled: list[tuple[str, str, str]] = field(default_factory=list)  # (clip, key, video its name says)
    in_videos: set[str] = field(default_factory=set)
    in_test_videos: set[str] = field(default_factory=set)
    in_non_english: Counter = field(default_factory=Counter)  # strings, clips
    in_non_english_videos: set[str] = field(default_factory=set)
    non_english_strings: int = 0
    non_english_clips: int = 0
    non_english_videos: set[str] = field(default_factory=set)
    test_videos: set[str] = field(default_factory=set)
    out_videos: set[str] = field(default_factory=set)
    missing_videos: set[str] = field(default_factory=set)
    malformed: list[EntryProblem] = field(default_factory=list)  # clips left out, one line each

    def note(self, reason: str, clip: str) -> None:
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(clip)


# --------------------------------------------------------------------------- reading the schema


def _is_clip_object(value: Any) -> bool:
    return isinstance(value, dict) and ("timestamps" in value or "global" in value or "region" in value)


def iter_clips(data: Any, path: str | Path) -> tuple[list[Clip | EntryProblem], int, int]:
    """All clips in file order (an :class:`EntryProblem` for each malformed one, ``index`` its
    position among the clips), plus the number of video keys and of top-level stray clips."""
    if not isinstance(data, dict):
        hint = (" (a training list: convert does not apply; give it to `fgvad data check`/`split`)"
                if isinstance(data, list) else "")
        raise AnnotationError(f"{path}: top level must be an object {{video: {{clip: ...}}}}, "
                              f"found {type(data).__name__}{hint}")
    clips: list[Clip | EntryProblem] = []
    n_videos = n_stray = 0
    for key, value in data.items():
        if _is_clip_object(value):
            n_stray += 1
            clips.append(Clip(key, None, value))
        elif isinstance(value, dict):
            n_videos += 1
            for clip_name, clip in value.items():
                if not isinstance(clip, dict):
                    clips.append(EntryProblem(len(clips), key, f"{path}: {key} / {clip_name}: expected a clip "
                                                               f"object, found {type(clip).__name__}"))
                    continue
                clips.append(Clip(clip_name, key, clip))
        else:
            clips.append(EntryProblem(len(clips), key, f"{path}: key {key}: expected a video object or a clip "
                                                       f"object, found {type(value).__name__}"))
    return clips, n_videos, n_stray


def video_of_clip(clip_name: str) -> str:
    """The video a clip name says it belongs to: ``Normal_Videos001_x264_2.mp4`` -> key ``Normal_Videos001_x264``."""
    m = _CLIP_RE.match(PurePosixPath(clip_name).name)
    return video_key(m.group("video") if m else clip_name)


def _captions(clip: Clip, path: str | Path) -> tuple[str, list[str]]:
    where = f"{path}: {clip.filed_under + ' / ' if clip.filed_under else ''}{clip.name}"
    glob = clip.raw.get("global")
    caption = glob.get("Caption", glob.get("caption")) if isinstance(glob, dict) else glob
    if not isinstance(caption, str):
        raise AnnotationError(f"{where}: field 'global.Caption': expected a string")
    regions = clip.raw.get("region", [])
    if not isinstance(regions, list):
        raise AnnotationError(f"{where}: field 'region': expected a list of {{\"caption\": ...}}")
    texts = []
    for k, region in enumerate(regions):
        text = region.get("caption", region.get("Caption")) if isinstance(region, dict) else region
        if not isinstance(text, str):
            raise AnnotationError(f"{where}: field 'region[{k}].caption': expected a string")
        texts.append(text)
    return caption, texts


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def timestamp_problem(ts: Any, duration: float | None) -> str | None:
    """Why a clip's timestamps are unusable, or None. ``ts`` is ``[[s, e]]`` (or ``[s, e]``)."""
    if isinstance(ts, list) and len(ts) == 1 and isinstance(ts[0], list):
        ts = ts[0]
    if not (isinstance(ts, list) and len(ts) == 2 and all(_number(v) for v in ts)):
        return "malformed timestamps"
    start, end = float(ts[0]), float(ts[1])
    if start == 0 and end == 0:
        return "placeholder [[0.0, 0.0]]"
    if start < 0 or end < 0:
        return "negative timestamps"
    if end < start:
        return "reversed timestamps (end < start)"
    if end == start:
        return "empty clip (end = start)"
    if duration is not None and (start >= duration or end > duration + DURATION_TOLERANCE_S):
        return "beyond the video's duration"
    return None


# --------------------------------------------------------------------------- video paths


class VideoPaths:
    """Official UCF-Crime folder and spelling for each normal video, from the shipped lists."""

    def __init__(self, prefix: str, folder: str | None):
        self.prefix = prefix
        self.folder = folder.strip("/") if folder else None
        self.test: dict[str, str] = {video_key(p): p for p in load_video_list("ucf-crime-test")}
        self.train: dict[str, str] = {video_key(p): p for p in load_video_list("ucf-crime-train")}

    def is_test(self, key: str) -> bool:
        return key in self.test

    def path(self, key: str) -> str:
        official = self.test.get(key) or self.train.get(key)
        if self.folder is not None:
            name = PurePosixPath(official).name if official else f"{key}.mp4"
            return f"{self.prefix}{self.folder}/{name}"
        if official:
            return self.prefix + official
        return f"{self.prefix}Training_Normal_Videos_Anomaly/{key}.mp4"


def _probe_duration(path: Path) -> float:
    from fgvad.data.video import probe_video

    return probe_video(path).duration


# --------------------------------------------------------------------------- conversion


def convert(data: Any, path: str | Path, *, paths: VideoPaths, video_root: str | Path | None = None,
            bad_timestamps: str = "drop", misfiled: str = "key",
            strict: bool = False) -> tuple[list[dict], ConvertReport]:
    """Training entries (file order, grouped by owning video) and a report of every fault.

    A malformed clip is reported in ``report.malformed`` and left out; ``strict`` raises it."""

    clips, n_videos, n_stray = iter_clips(data, path)
    report = ConvertReport(n_video_keys=n_videos, n_stray=n_stray, n_clips=len(clips))
    durations: dict[str, float | None] = {}
    by_video: dict[str, list[dict]] = {}
    seen: set[tuple] = set()
    for position, clip in enumerate(clips):
        if isinstance(clip, EntryProblem):
            if strict:
                raise AnnotationError(clip.message)
            report.malformed.append(clip)
            continue
        named = video_of_clip(clip.name)
        owner = video_key(clip.filed_under) if clip.filed_under else named
        if clip.filed_under and named != owner:
            report.misfiled.append((clip.name, clip.filed_under, named))
            if misfiled == "drop":
                report.dropped["filed under another video's key (--misfiled drop)"] += 1
                continue
            if misfiled == "name":
                owner = named
        try:
            caption, region_captions = _captions(clip, path)
        except AnnotationError as err:
            if strict:
                raise
            report.malformed.append(EntryProblem(position, clip.name, str(err)))
            continue
        n_foreign = sum(is_non_english(t) for t in (caption, *region_captions))
        report.in_videos.add(owner)
        if paths.is_test(owner):
            report.in_test_videos.add(owner)
        if n_foreign:
            report.in_non_english.update(strings=n_foreign, clips=1)
            report.in_non_english_videos.add(owner)
        video = paths.path(owner)
        duration = None
        if video_root is not None:
            if owner not in durations:
                try:
                    durations[owner] = _probe_duration(Path(video_root) / video)
                except VideoError:
                    durations[owner] = None
                    report.missing_videos.add(owner)
            duration = durations[owner]
        problem = timestamp_problem(clip.raw.get("timestamps"), duration)
        timestamps: list[float] | None = None
        if problem is None:
            ts = clip.raw["timestamps"]
            ts = ts[0] if len(ts) == 1 else ts
            timestamps = [float(ts[0]), float(ts[1])]
        else:
            report.note(problem, clip.name)
            if bad_timestamps == "drop":
                report.dropped[problem] += 1
                continue
        identity = (owner, None if timestamps is None else tuple(timestamps), caption, tuple(region_captions))
        if identity in seen:
            # e.g. Normal_Videos007 clip _3 repeats clip _2's [10, 20] and captions: training on it twice adds nothing.
            reason = "duplicate of an earlier clip (same video, timestamps and captions)"
            report.dropped[reason] += 1
            report.note(reason, clip.name)
            continue
        seen.add(identity)
        if problem is not None:
            report.whole_video[problem] += 1
        if n_foreign:
            report.non_english_strings += n_foreign
            report.non_english_clips += 1
            report.non_english_videos.add(owner)
        report.kept += 1
        report.out_videos.add(owner)
        if paths.is_test(owner):
            report.test_videos.add(owner)
        by_video.setdefault(owner, []).append({
            "video": video,
            "global_caption": caption,
            "region_captions": region_captions,
            # The training file gives normal clips one empty box track per region caption.
            "box_infos": [[] for _ in region_captions],
            "timestamps": timestamps,
        })
    entries = [e for group in by_video.values() for e in group]
    return entries, report


def summary_lines(path: str | Path, report: ConvertReport, misfiled: str) -> list[str]:
    lines = [f"{path}: {report.n_video_keys} video keys + {report.n_stray} top-level stray clips, "
             f"{report.n_clips} clips"]
    lines.append(f"  kept: {report.kept} clips of {len(report.out_videos)} videos"
                 + (f" ({sum(report.whole_video.values())} of them as the whole video)" if report.whole_video else ""))
    for reason, n in report.dropped.most_common():
        ex = report.examples.get(reason, [])
        lines.append(f"  dropped {n}: {reason}" + (f" (e.g. {', '.join(ex)})" if ex else ""))
    for reason, n in report.whole_video.most_common():
        lines.append(f"  whole video instead of the clip for {n}: {reason}")
    if report.n_stray:
        lines.append(f"  {report.n_stray} stray top-level clips filed under the video their name says")
    action = {"key": "kept under the key they sit under", "name": "refiled under the video their name says",
              "drop": "dropped"}[misfiled]
    for clip, key, named in report.misfiled:
        lines.append(f"  misfiled: {clip} sits under {key} ({action}; --misfiled key|name|drop)")
    if report.malformed:
        lines.append(f"  left out {len(report.malformed)} malformed clips (--strict refuses the file):")
        lines += [f"    {problem.message}" for problem in report.malformed]
    if report.missing_videos:
        lines.append(f"  {len(report.missing_videos)} videos not found or unreadable under --video-root "
                     f"(their range check was skipped)")
    if report.in_non_english:
        lines.append(f"  non-English captions in the input: {report.in_non_english['strings']} strings in "
                     f"{report.in_non_english['clips']} clips of {len(report.in_non_english_videos)} videos; "
                     f"in the output: {report.non_english_strings} strings in {report.non_english_clips} clips "
                     f"(kept; translate them with `fgvad data translate`)")
    if report.in_test_videos:
        lines.append(f"  UCF-Crime test videos: {len(report.in_test_videos)} of the {len(report.in_videos)} input videos, "
                     f"{len(report.test_videos)} of the {len(report.out_videos)} output videos"
                     + (" (`fgvad data split` removes them)" if report.test_videos else ""))
    return lines


def convert_file(path: str | Path, *, video_prefix: str = "", video_folder: str | None = None,
                 video_root: str | Path | None = None, bad_timestamps: str = "drop",
                 misfiled: str = "key", strict: bool = False) -> tuple[list[dict], ConvertReport]:
    """Read a normal-caption JSON file and :func:`convert` it (see there for the options)."""
    return convert(read_json(path), path, paths=VideoPaths(video_prefix, video_folder), video_root=video_root,
                   bad_timestamps=bad_timestamps, misfiled=misfiled, strict=strict)


def write_training_json(path: str | Path, entries: list[dict]) -> None:
    """Write entries in the same layout as the users' training file (indent 2, UTF-8 text, not \\u escapes)."""
    write_text_atomic(path, json.dumps(entries, indent=2, ensure_ascii=False) + "\n")
