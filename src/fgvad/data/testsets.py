"""Test-side files of the registered benchmarks: temporal annotations, frame counts, video lists.

Each benchmark writes its test annotation its own way; the registry entry
(:class:`fgvad.core.datasets.DatasetSpec`) says which, and these readers turn every format into
the same :class:`TestVideo` list, in the benchmark's official order:

- ``ucf`` (UCF-Crime, ShanghaiTech, the synthetic sets): ``Name.mp4  Class  s1  e1  s2  e2``
  (the official UCF file; -1 pairs = none; any number of pairs), or ``Folder/Name.mp4 n Class
  s1 e1 ...`` with the video's frame count n.
- ``xd-violence``: ``name s1 e1 [s2 e2 ...]`` for the violent videos only; the shipped test list
  names all 800 videos in official order, and each video's classes are in its name
  (``..._label_G-B2-B6``; ``label_A`` = normal).

Intervals are 0-based, end-exclusive frame indices ``[s, e)`` (verified on every benchmark
against its public frame-level arrays; ../shared/datasets/*/README.md).

A frame-counts file is lines of ``NAME N``; further columns are ignored and NAME may carry a
folder and an extension, so UR-DMU's ``Folder/Name.mp4 n Class s1 e1 ...`` is one too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from fgvad.core.constants import MAX_VIDEO_FRAMES
from fgvad.core.datasets import DATASETS, NORMAL, UCF_CRIME, DatasetSpec, get_dataset, media_stem, resolve_shipped
from fgvad.core.errors import AnnotationError
from fgvad.core.io import read_utf8_text


@dataclass
class TestVideo:
    """One video of a temporal test annotation. Intervals are [start, end) frame indices."""

    __test__ = False  # not a pytest test class, despite the name

    name: str  # without folder and extension, e.g. Abuse028_x264
    label: str  # the (first) class; ``Normal`` for normal videos
    intervals: list[tuple[int, int]]
    n_frames: int | None = None  # the frame count the annotation gives, if it gives one
    folder: str | None = None
    labels: tuple[str, ...] = ()  # every class of a multi-label video (XD-Violence); () = (label,)
    dataset: str = UCF_CRIME.name  # whose naming rule makes :attr:`key`

    @property
    def key(self) -> str:
        """Canonical identity: the dataset's video-name rule (``video_key`` of its registry entry)."""
        return get_dataset(self.dataset).video_key(self.name)

    @property
    def classes(self) -> tuple[str, ...]:
        return self.labels or (self.label,)

    @property
    def is_anomaly(self) -> bool:
        return self.label != NORMAL

    @property
    def relpath(self) -> str:
        """Where the video usually is below a video root (UCF-Crime: ``Folder/Name.mp4``)."""
        if self.dataset == UCF_CRIME.name:
            folder = self.folder or ("Testing_Normal_Videos_Anomaly" if not self.is_anomaly else self.label)
            return f"{folder}/{self.name}.mp4"
        return f"{self.folder}/{self.name}.mp4" if self.folder else f"{self.name}.mp4"


def _lines(path: str | Path) -> list[str]:
    return read_utf8_text(path).splitlines()


def _intervals(values: list[str], path: str | Path, lineno: int) -> list[tuple[int, int]]:
    try:
        nums = [int(v) for v in values]
    except ValueError:
        raise AnnotationError(f"{path}:{lineno}: interval values must be integers, found {values}") from None
    if len(nums) % 2:
        raise AnnotationError(f"{path}:{lineno}: interval values come in start/end pairs, found {len(nums)}")
    out = []
    for s, e in zip(nums[::2], nums[1::2]):
        if s == -1 and e == -1:
            continue
        if s < 0 or e < s:
            raise AnnotationError(f"{path}:{lineno}: bad interval [{s}, {e}]")
        out.append((s, e))
    return out


def _pick_dataset(path: str | Path, dataset: str | DatasetSpec | None) -> DatasetSpec:
    if dataset is not None:
        return get_dataset(dataset)
    return DATASETS.get(str(path), UCF_CRIME)  # a dataset's short name, else UCF-Crime's format


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _frame_count(value: str, path: str | Path, lineno: int) -> int:
    if not _is_int(value):
        raise AnnotationError(f"{path}:{lineno}: frame count {value!r} is not a whole number")
    n = int(value)
    if n < 1:
        raise AnnotationError(f"{path}:{lineno}: frame count {n} is not positive")
    if n > MAX_VIDEO_FRAMES:
        raise AnnotationError(f"{path}:{lineno}: frame count {n:,} is above the {MAX_VIDEO_FRAMES:,}-frame limit "
                              "(over 38 days at 30 fps): a wrong column or a typo?")
    return n


def _parse_ucf_format(path: str | Path, spec: DatasetSpec) -> list[TestVideo]:
    """Every non-blank line, in either format; each video once.

    A line the ground truth would silently misread is an error naming it: a video listed
    twice, a ``Normal`` video with an anomaly interval (its frames would count as normal), an
    anomalous class without one (its videos would have no positive frame, its class AUC none).
    """
    videos: list[TestVideo] = []
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2:
            raise AnnotationError(f"{path}:{lineno}: expected 'Name.mp4  Class  s1  e1  s2  e2'")
        # The count format has one field more than the official one (name, count, class, interval
        # pairs: an odd number), so a count that is not a number is still recognised as one.
        with_counts = len(parts) >= 3 and not _is_int(parts[2]) and (_is_int(parts[1]) or len(parts) % 2 == 1)
        if with_counts:
            rel, n, label, rest = parts[0], _frame_count(parts[1], path, lineno), parts[2], parts[3:]
        else:
            rel, n, label, rest = parts[0], None, parts[1], parts[2:]
        parent = str(PurePosixPath(rel).parent)
        video = TestVideo(media_stem(rel), label, _intervals(rest, path, lineno), n,
                          parent if parent != "." else None, dataset=spec.name)
        if video.key in first_line:
            raise AnnotationError(f"{path}:{lineno}: {video.name} is listed again (first at line "
                                  f"{first_line[video.key]})")
        first_line[video.key] = lineno
        if not video.is_anomaly and video.intervals:
            s, e = video.intervals[0]
            raise AnnotationError(f"{path}:{lineno}: {video.name} is labelled {NORMAL} but has the anomaly interval "
                                  f"{s} {e}; a normal video has none (-1 -1), or give its anomaly class")
        if video.is_anomaly and not video.intervals:
            raise AnnotationError(f"{path}:{lineno}: {video.name} is labelled {video.label} but has no anomaly "
                                  f"interval (all -1); give its interval, or label it {NORMAL}")
        videos.append(video)
    return videos


def _parse_xd_format(path: str | Path, spec: DatasetSpec) -> list[TestVideo]:
    """Intervals per annotated video, joined to the official test list (which has the normal videos)."""
    assert spec.labels_from_name is not None and spec.test_list is not None
    annotated: dict[str, list[tuple[int, int]]] = {}
    for lineno, line in enumerate(_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        key = spec.video_key(parts[0])
        if key in annotated:
            raise AnnotationError(f"{path}:{lineno}: {key} is annotated twice")
        annotated[key] = _intervals(parts[1:], path, lineno)
    listed = [spec.video_key(rel) for rel in load_video_list(spec.test_list)]
    extra = sorted(set(annotated) - set(listed))
    if extra:
        raise AnnotationError(f"{path}: {len(extra)} annotated videos are not in the {spec.name} test list "
                              f"({spec.test_list.name}): {', '.join(extra[:5])}")
    videos = []
    for name in listed:
        labels = spec.labels_from_name(name)
        intervals = annotated.get(name, [])
        video = TestVideo(name, labels[0], intervals, labels=labels if len(labels) > 1 else (), dataset=spec.name)
        if video.is_anomaly and not intervals:
            raise AnnotationError(f"{path}: {name} is violent by its name but has no annotated interval")
        if not video.is_anomaly and intervals:
            raise AnnotationError(f"{path}: {name} is normal by its name (label_A) but has intervals")
        videos.append(video)
    return videos


def load_test_annotation(path: str | Path = "ucf-crime", dataset: str | DatasetSpec | None = None) -> list[TestVideo]:
    """Parse a temporal test annotation in the format of ``dataset`` (see the module docstring).

    ``path`` may be a dataset's name (``ucf-crime``, ``xd-violence``, ``shanghaitech``) for its
    shipped annotation; ``dataset`` defaults to that name, else UCF-Crime's format.
    """
    spec = _pick_dataset(path, dataset)
    if str(path) in DATASETS and str(path) != spec.name:
        raise AnnotationError(f"annotation {path} is another dataset's than --dataset {spec.name}")
    path = resolve_shipped(path, "test_annotation")
    parse = _parse_xd_format if spec.annotation_format == "xd-violence" else _parse_ucf_format
    videos = parse(path, spec)
    if not videos:
        raise AnnotationError(f"{path}: no videos in the annotation")
    return videos


def load_frame_counts(path: str | Path, dataset: str | DatasetSpec | None = None) -> dict[str, int]:
    """Frame counts by video name from lines ``NAME N [anything]`` (or a dataset name: its shipped counts).

    NAME may carry a folder and an extension (dropped: ``Folder/Name.mp4`` -> ``Name``).
    """
    del dataset  # names are matched to videos later, by the dataset's key rule
    path = resolve_shipped(path, "frame_counts")
    counts: dict[str, int] = {}
    first_line: dict[str, int] = {}
    for lineno, line in enumerate(_lines(path), 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 2:
            raise AnnotationError(f"{path}:{lineno}: expected 'NAME N' (a video and its frame count), "
                                  f"found {line.strip()[:80]!r}")
        name, n = media_stem(parts[0]), _frame_count(parts[1], path, lineno)
        if name in first_line:  # the last count would win silently
            raise AnnotationError(f"{path}:{lineno}: {name} is listed again (first at line {first_line[name]})")
        first_line[name] = lineno
        counts[name] = n
    if not counts:
        raise AnnotationError(f"{path}: no frame counts")
    return counts


def load_video_list(path: str | Path) -> list[str]:
    """A list of video paths, one per line. ``<dataset>-test``/``<dataset>-train`` read the shipped lists."""
    path = resolve_shipped(path, "video_list")
    return [ln.strip() for ln in _lines(path) if ln.strip()]


__all__ = ["TestVideo", "load_test_annotation", "load_frame_counts", "load_video_list"]
