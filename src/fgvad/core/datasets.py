"""The dataset registry: what fgvad knows about each benchmark, in one place.

Each benchmark is one frozen :class:`DatasetSpec` in :data:`DATASETS`: its classes, the
files fgvad ships for it (test annotation, frame counts, train/test video lists, all under
``fgvad/resources/``), its frame rate, the ground-truth modes that make sense for it, its
headline metric and the rule that turns a video path into the name its annotation uses.
Adding a benchmark is adding one entry to ``_SPECS`` (and its files to resources/).
Registered: UCF-Crime (``ucf-crime``) and MSAD (``msad``; only its test list is shipped, see
``resources/msad/README.md``).

Users name shipped files by short names: a dataset's name (``ucf-crime``) stands for its test
annotation or frame counts, ``<name>-test`` / ``<name>-train`` for its video lists;
:func:`resolve_shipped` turns those names into paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Literal

from fgvad.core.errors import UsageError
from fgvad.resources import RESOURCES

NORMAL = "Normal"  # the class of every normal video, whatever the dataset calls its folder

# UCF-Crime's 13 anomaly classes (its folder names).
UCF_CLASSES: tuple[str, ...] = (
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)

# MSAD's 11 anomaly classes (its folder and file-name prefixes), from the authors' public
# benchmark lists (resources/msad/README.md).
MSAD_CLASSES: tuple[str, ...] = (
    "Assault", "Explosion", "Fighting", "Fire", "Object_falling", "People_falling", "Robbery",
    "Shooting", "Traffic_accident", "Vandalism", "Water_incident",
)

_UCF_NORMAL_RE = re.compile(r"^Normal_Videos_?(\d+)(.*)$")


def ucf_crime_video_key(path: str) -> str:
    """Canonical identity of a UCF-Crime video, independent of folder, extension and spelling.

    The official test normals are named ``Normal_Videos_924_x264`` while annotation
    efforts often drop the underscore (``Normal_Videos924_x264``); both map to the same key.
    """
    stem = PurePosixPath(str(path).replace("\\", "/")).stem
    m = _UCF_NORMAL_RE.match(stem)
    if m:
        return f"Normal_Videos{int(m.group(1)):03d}{m.group(2)}"
    return stem


def msad_video_key(path: str) -> str:
    """MSAD's name of a video: the file stem; feature files (``Assault_2_i3d.npy``) name their video."""
    return PurePosixPath(str(path).replace("\\", "/")).stem.removesuffix("_i3d")


@dataclass(frozen=True)
class DatasetSpec:
    """One benchmark. Paths are files shipped in ``fgvad/resources`` (None: not shipped)."""

    name: str  # what users type: --dataset, and the short name of its shipped files
    anomaly_classes: tuple[str, ...]
    fps: float | None  # None: not published (no shipped file depends on it)
    video_key: Callable[[str], str]  # video path -> the name its annotations and score files use
    normal_class: str = NORMAL
    test_annotation: Path | None = None  # temporal annotation of the test videos (official format)
    frame_counts: Path | None = None  # 'Folder/Name.mp4 n Class s1 e1 s2 e2' for the test videos
    train_list: Path | None = None  # one video path per line
    test_list: Path | None = None
    gt_modes: tuple[str, ...] = ("frames",)  # frame-level ground-truth conventions (see eval.gt)
    headline_metric: str = "auc"  # the number papers report first (frame-level ROC-AUC)
    name_pattern: str = ""  # regex a video's file stem matches (how check/split tell datasets apart)

    def owns(self, path: str) -> bool:
        """Whether a video path is named the way this dataset names its videos."""
        stem = PurePosixPath(str(path).replace("\\", "/")).stem
        return bool(self.name_pattern) and re.fullmatch(self.name_pattern, stem) is not None

    @property
    def classes(self) -> tuple[str, ...]:
        """The normal class first, then the anomaly classes."""
        return (self.normal_class, *self.anomaly_classes)


_UCF = RESOURCES / "ucf_crime"

UCF_CRIME = DatasetSpec(
    name="ucf-crime",
    anomaly_classes=UCF_CLASSES,
    fps=30.0,
    video_key=ucf_crime_video_key,
    test_annotation=_UCF / "Temporal_Anomaly_Annotation_for_Testing_Videos.txt",
    frame_counts=_UCF / "test_frame_counts_and_annotation.txt",
    train_list=_UCF / "Anomaly_Train.txt",
    test_list=_UCF / "Anomaly_Test.txt",
    gt_modes=("frames", "floor16", "i3d"),
    headline_metric="auc",
    name_pattern=r"(?:[A-Za-z]+\d{3}|Normal_Videos_?\d+)_x264",
)

MSAD = DatasetSpec(
    name="msad",
    anomaly_classes=MSAD_CLASSES,
    fps=None,
    video_key=msad_video_key,
    test_list=RESOURCES / "msad" / "MSAD_Test.txt",
    gt_modes=("frames",),
    headline_metric="auc",
    name_pattern=r"(?:" + "|".join(MSAD_CLASSES) + r")_\d+|MSAD_normal_\w+",
)

_SPECS: tuple[DatasetSpec, ...] = (UCF_CRIME, MSAD)
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}

# The shipped UCF-Crime frame counts, for code that wants the file itself (eval.gt).
UCF_FRAME_COUNTS: Path = UCF_CRIME.frame_counts  # type: ignore[assignment]


def get_dataset(name: str) -> DatasetSpec:
    """The registered dataset ``name``; a one-line error naming the known ones otherwise."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UsageError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})") from None


def dataset_of(path: str) -> DatasetSpec | None:
    """The registered dataset whose naming ``path`` follows (``Abuse001_x264`` -> UCF-Crime,
    ``Fire_3`` -> MSAD), or None."""
    return next((spec for spec in _SPECS if spec.owns(path)), None)


def known_anomaly_classes() -> tuple[str, ...]:
    """Every registered anomaly class, each once, longest first (so prefix matching picks
    ``People_falling`` before a shorter class that happens to prefix it)."""
    names = {c for spec in _SPECS for c in spec.anomaly_classes}
    return tuple(sorted(names, key=lambda c: (-len(c), c)))


def dataset_for_classes(labels: Iterable[str]) -> DatasetSpec | None:
    """The first registered dataset whose classes include every label (UCF-Crime first), or None."""
    wanted = set(labels) - {NORMAL}
    return next((spec for spec in _SPECS if wanted <= set(spec.anomaly_classes)), None)


ALL_TEST_LISTS = "all"  # --test-list value: the test lists of every registered dataset


def shipped_test_lists() -> dict[str, Path]:
    """Dataset name -> its shipped test video list, for every registered dataset that has one."""
    return {spec.name: spec.test_list for spec in _SPECS if spec.test_list is not None}


ShippedKind = Literal["test_annotation", "frame_counts", "video_list"]


def resolve_shipped(value: str | Path, kind: ShippedKind) -> str | Path:
    """The shipped file a short name stands for, or ``value`` unchanged when it is not one.

    ``kind="test_annotation"`` / ``"frame_counts"``: a dataset name (``ucf-crime``);
    ``kind="video_list"``: ``<name>-test`` or ``<name>-train`` (``ucf-crime-test``).
    """
    text = str(value)
    if kind == "video_list":
        name, _, split = text.rpartition("-")
        field = {"test": "test_list", "train": "train_list"}.get(split)
    else:
        name, field = text, kind
    spec = DATASETS.get(name)
    if spec is None or field is None:
        return value
    path = getattr(spec, field)
    if path is None:
        raise UsageError(f"{text}: fgvad ships no {field.replace('_', ' ')} for {spec.name}; give a file")
    return path
