"""The dataset registry: what fgvad knows about each benchmark, in one place.

Each benchmark is one frozen :class:`DatasetSpec` in :data:`DATASETS`: its classes, the
files fgvad ships for it (test annotation, frame counts, train/test video lists, all under
``fgvad/resources/``), its frame rate, the ground-truth modes that make sense for it, its
headline metric and the rule that turns a video path into the name its annotation uses.
Adding a benchmark is adding one entry to ``_SPECS`` (and its files to resources/).
Users name shipped files by short names: a dataset's name (``ucf-crime``) stands for its test
annotation or frame counts, ``<name>-test`` / ``<name>-train`` for its video lists;
:func:`resolve_shipped` turns those names into paths.

Registered: ``ucf-crime``, ``msad`` (only its test list is shipped, see ``resources/msad/README.md``),
``xd-violence`` and ``shanghaitech``. The facts behind each entry
(interval conventions, GT lengths of the public I3D arrays, class codes) were verified against
the public arrays; ../shared/datasets/*/README.md has the evidence, the provenance of the
shipped files is in ``resources/<dataset>/PROVENANCE.md``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Literal, Mapping

from fgvad.core.constants import SNIPPET_FRAMES as SNIPPET  # the 16 frames of an I3D snippet
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


# Extensions a video name may carry in lists, annotations and score/feature files; only these
# are stripped, so names with dots (XD-Violence's "Bad.Boys.1995__#01-11-55_...") survive.
MEDIA_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv",
                  ".npy", ".npz")


def media_stem(path: str) -> str:
    """File name without folder and without a known video/array extension (see MEDIA_SUFFIXES)."""
    name = PurePosixPath(str(path).replace("\\", "/")).name
    lowered = name.lower()
    for suffix in MEDIA_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# --------------------------------------------------------------------------- I3D snippet rules
# The public frame-level GT arrays have L = 16 * T frames, T the I3D snippet count of the video;
# each community's extractor derives T from the real frame count n differently.

# UCF-Crime test videos whose n is divisible by 16 but whose public I3D features have n/16 - 1
# snippets (the extractor most likely decoded one frame fewer). Matched by the UCF key rule.
UCF_I3D_SHORT_BY_ONE_SNIPPET = frozenset(ucf_crime_video_key(n) for n in (
    "Assault006_x264", "Burglary037_x264", "Normal_Videos_881_x264", "Normal_Videos_914_x264",
    "RoadAccidents010_x264", "RoadAccidents016_x264", "Shooting046_x264",
    "Shoplifting010_x264", "Shoplifting015_x264",
))


def _ucf_i3d_snippets(name: str, n_frames: int) -> int:
    """T = floor(n/16), one fewer for the nine videos above (PEL4VAD's arrays, 290/290)."""
    snippets = n_frames // SNIPPET
    if n_frames % SNIPPET == 0 and ucf_crime_video_key(name) in UCF_I3D_SHORT_BY_ONE_SNIPPET:
        snippets -= 1
    return snippets


def _xd_i3d_snippets(name: str, n_frames: int) -> int:
    """T = floor((n-1)/16): XDVioDet's make_gt.py drops the last frame (800/800 videos)."""
    return (n_frames - 1) // SNIPPET


def _sh_i3d_snippets(name: str, n_frames: int) -> int:
    """T = ceil(n/16): RTFM's features cover a partial last snippet (199/199 videos)."""
    return math.ceil(n_frames / SNIPPET)


# --------------------------------------------------------------------------- XD-Violence names

# The label codes of XD-Violence file names (the dataset website's annotation ReadMe).
XD_CLASS_CODES: Mapping[str, str] = {
    "B1": "Fighting", "B2": "Shooting", "B4": "Riot", "B5": "Abuse", "B6": "CarAccident", "G": "Explosion",
}
XD_CLASSES: tuple[str, ...] = tuple(XD_CLASS_CODES.values())
_XD_CROP_RE = re.compile(r"__\d+$")  # feature-file crop suffix: Name__0.npy (centre) .. __4 / __9


def xd_violence_video_key(path: str) -> str:
    """An XD-Violence video name: no folder, no extension, no ``__N`` crop suffix."""
    return _XD_CROP_RE.sub("", media_stem(path))


def xd_violence_labels(name: str) -> tuple[str, ...]:
    """Classes in an XD-Violence name (``..._label_G-B2-B6`` -> Explosion, Shooting, CarAccident);
    ``label_A`` (and a name without labels) is normal: ``(Normal,)``. Unknown codes are errors."""
    stem = xd_violence_video_key(name)
    _, sep, codes = stem.rpartition("label_")
    if not sep:
        raise UsageError(f"{name}: an XD-Violence name carries its classes as '_label_<codes>'")
    found: list[str] = []
    for code in codes.split("-"):
        if code in ("0", "A"):
            continue
        if code not in XD_CLASS_CODES:
            raise UsageError(f"{name}: unknown XD-Violence label code {code!r} "
                             f"(known: A, {', '.join(XD_CLASS_CODES)})")
        if XD_CLASS_CODES[code] not in found:
            found.append(XD_CLASS_CODES[code])
    return tuple(found) or (NORMAL,)


# --------------------------------------------------------------------------- ShanghaiTech names

SH_CLASSES: tuple[str, ...] = ("Anomaly",)  # the weakly-supervised split has no anomaly classes
_SH_FEATURE_RE = re.compile(r"_i3d$")  # RTFM's feature files: 01_0015_i3d.npy


def shanghaitech_video_key(path: str) -> str:
    """A ShanghaiTech video id (``01_0015``): no folder, no extension, no ``_i3d`` feature suffix."""
    return _SH_FEATURE_RE.sub("", media_stem(path))
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
    headline_metric: str = "auc"  # the number papers report first: "auc" (ROC-AUC) or "ap"
    # How the test annotation is written: "ucf" ('Name.mp4  Class  s1  e1 ...', optionally
    # 'Folder/Name.mp4 n Class ...'; any number of pairs) or "xd-violence" ('name s1 e1 ...' for
    # the anomalous videos only; the test list names all, the classes are in the names).
    annotation_format: str = "ucf"
    # Classes of a video from its name (multi-label datasets); None: the annotation says.
    labels_from_name: Callable[[str], tuple[str, ...]] | None = None
    i3d_snippets: Callable[[str, int], int] = _ucf_i3d_snippets  # (name, n) -> T of the public arrays
    # Frames past the annotated length n (when the annotation has one) repeat the label of
    # frame n-1 instead of being normal (RTFM's padding of ShanghaiTech's official masks).
    pad_last_label: bool = False
    name_pattern: str = ""  # regex a video's file stem matches (how check/split tell datasets apart)

    def owns(self, path: str) -> bool:
        """Whether a video path is named the way this dataset names its videos."""
        return bool(self.name_pattern) and re.fullmatch(self.name_pattern, media_stem(path)) is not None

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

_XD = RESOURCES / "xd_violence"

XD_VIOLENCE = DatasetSpec(
    name="xd-violence",
    anomaly_classes=XD_CLASSES,
    fps=24.0,  # the paper fixes every video to 24 fps; annotation numbers are frames at that rate
    video_key=xd_violence_video_key,
    test_annotation=_XD / "annotations.txt",
    test_list=_XD / "test_videos.txt",
    gt_modes=("frames", "i3d"),
    headline_metric="ap",
    annotation_format="xd-violence",
    labels_from_name=xd_violence_labels,
    i3d_snippets=_xd_i3d_snippets,
    name_pattern=r".+_label_[A-Z0-9]+(?:-[A-Z0-9]+)*(?:__\d+)?",
)

_SH = RESOURCES / "shanghaitech"

SHANGHAITECH = DatasetSpec(
    name="shanghaitech",
    anomaly_classes=SH_CLASSES,
    fps=24.0,  # not established by the public sources; the official masks count frames, which is what fgvad uses
    video_key=shanghaitech_video_key,
    test_annotation=_SH / "test_annotation.txt",
    train_list=_SH / "SH_Train.txt",
    test_list=_SH / "test_videos.txt",
    gt_modes=("frames", "i3d"),
    headline_metric="auc",
    i3d_snippets=_sh_i3d_snippets,
    pad_last_label=True,
    name_pattern=r"\d{2}_\d{3,4}(?:_i3d)?",
)

# UCF-Crime first: dataset_for_classes and dataset_of prefer it.
_SPECS: tuple[DatasetSpec, ...] = (UCF_CRIME, MSAD, XD_VIOLENCE, SHANGHAITECH)
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in _SPECS}

# The shipped UCF-Crime frame counts, for code that wants the file itself (eval.gt).
UCF_FRAME_COUNTS: Path = UCF_CRIME.frame_counts  # type: ignore[assignment]


def get_dataset(name: str | DatasetSpec) -> DatasetSpec:
    """The registered dataset ``name``; a one-line error naming the known ones otherwise."""
    if isinstance(name, DatasetSpec):
        return name
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
