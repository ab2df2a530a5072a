"""Frame-level ground truth of a benchmark's test annotation, in named modes.

Public repos disagree on how frame labels are built from the temporal annotation, which
moves AUC by tenths of a point; fgvad makes the convention explicit, per dataset (the registry
entry, :mod:`fgvad.core.datasets`, holds each benchmark's rule; ../shared/datasets/*/README.md
the facts behind it):

- ``frames``: every real frame of the video, labels on 0-based end-exclusive intervals
  ``s <= i < e`` clipped to ``n``. UCF-Crime: 1,111,808 frames / 84,182 positives.
- ``floor16`` (UCF-Crime): the same labels cut to ``16 * floor(n / 16)`` frames. 1,109,824 / 84,160.
- ``i3d``: the ground truth shipped with the public I3D features, ``16 * T`` frames with the
  benchmark's snippet count T (``DatasetSpec.i3d_snippets``). UCF-Crime: ``T = floor(n/16)``
  except nine videos, 1,109,680 / 84,128, identical to PEL4VAD's arrays; XD-Violence:
  ``T = floor((n-1)/16)``, the 800 public per-video arrays; ShanghaiTech: ``T = ceil(n/16)``,
  with the official mask's last value repeated to the end (RTFM's ``gt-sh.npy``).

The ``fgvad gt`` command (fgvad.cli.gt) writes these arrays as an .npz.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from fgvad.core.constants import MAX_VIDEO_FRAMES, SNIPPET_FRAMES
from fgvad.core.datasets import DATASETS, UCF_CRIME, UCF_I3D_SHORT_BY_ONE_SNIPPET, DatasetSpec, get_dataset
from fgvad.core.errors import EvalError, UsageError, VideoError
from fgvad.data.annotations import TestVideo, load_frame_counts
from fgvad.data.paths import VIDEO_SUFFIXES, index_video_files  # noqa: F401  (re-exported)

GT_MODES = ("frames", "floor16", "i3d")

# UCF-Crime's nine I3D exceptions (kept under their old name; the registry holds them now).
I3D_SHORT_BY_ONE_SNIPPET = UCF_I3D_SHORT_BY_ONE_SNIPPET


def check_gt_mode(mode: str, dataset: str | DatasetSpec = UCF_CRIME) -> DatasetSpec:
    """The dataset's spec when ``mode`` is one of its ground-truth modes; UsageError otherwise."""
    spec = get_dataset(dataset)
    if mode not in spec.gt_modes:
        raise UsageError(f"unknown ground-truth mode {mode!r} for {spec.name} (choose from {', '.join(spec.gt_modes)})")
    return spec


def gt_length(name: str, n_frames: int, mode: str, dataset: str | DatasetSpec = UCF_CRIME) -> int:
    """Number of ground-truth frames of a video of ``n_frames`` real frames under ``mode``."""
    spec = check_gt_mode(mode, dataset)
    if mode == "frames":
        return n_frames
    if mode == "floor16":
        return SNIPPET_FRAMES * (n_frames // SNIPPET_FRAMES)
    return SNIPPET_FRAMES * max(spec.i3d_snippets(name, n_frames), 0)


def frame_labels(video: TestVideo, n_frames: int, mode: str = "frames") -> np.ndarray:
    """uint8 0/1 labels of one video: frame i is positive iff s <= i < e for an interval.

    Datasets with ``pad_last_label`` (ShanghaiTech) label the frames past the annotated length
    (the official mask's) with its last value instead of 0.
    """
    spec = get_dataset(video.dataset)
    length = gt_length(video.name, n_frames, mode, spec)
    labels = np.zeros(length, dtype=np.uint8)
    if video.is_anomaly:
        for start, end in video.intervals:
            labels[min(start, length):min(end, length)] = 1
        annotated = video.n_frames
        if spec.pad_last_label and annotated and 0 < annotated < length:
            labels[annotated:] = labels[annotated - 1]
    return labels


def build_ground_truth(videos: Iterable[TestVideo], frame_counts: Mapping[str, int],
                       mode: str = "frames") -> dict[str, np.ndarray]:
    """Labels of every video, keyed by the official name (no extension), in annotation order.

    ``frame_counts`` may name a video in any spelling its dataset's key rule accepts (folder,
    extension, UCF-Crime's two normal-video spellings).
    """
    videos = list(videos)
    spec = check_gt_mode(mode, videos[0].dataset if videos else UCF_CRIME)
    counts = {spec.video_key(k): int(v) for k, v in frame_counts.items()}
    lengths: dict[str, tuple[TestVideo, int]] = {}
    for tv in videos:  # every count is checked before any label array is allocated
        if tv.name in lengths:
            raise EvalError(f"{tv.name}: listed twice in the test annotation")
        n = counts.get(tv.key)
        if n is None:
            raise EvalError(f"{tv.name}: no frame count (give --frame-counts or --video-root)")
        if n <= 0:
            raise EvalError(f"{tv.name}: frame count {n} is not positive")
        if n > MAX_VIDEO_FRAMES:
            raise EvalError(f"{tv.name}: frame count {n:,} is above the {MAX_VIDEO_FRAMES:,}-frame limit "
                            "(over 38 days at 30 fps)")
        lengths[tv.name] = (tv, n)
    return {name: frame_labels(tv, n, mode) for name, (tv, n) in lengths.items()}


def save_ground_truth(path: str | Path, gt: Mapping[str, np.ndarray]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: np.asarray(v, dtype=np.uint8) for k, v in gt.items()})
    # np.savez appends .npz when missing; report the file actually written.
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def load_ground_truth(path: str | Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise EvalError(f"{path}: ground-truth file not found") from None
    except (OSError, ValueError) as err:
        raise EvalError(f"{path}: not a ground-truth .npz ({err})") from None


# --------------------------------------------------------------------------- locating videos


def locate_test_videos(root: str | Path, videos: Iterable[TestVideo]) -> dict[str, Path]:
    """Path of each test video: ``root/<relpath>`` when it exists, else found by name below root.

    Raises VideoError naming the missing videos (all of them, so one run reveals every gap).
    """
    root = Path(root)
    videos = list(videos)
    paths: dict[str, Path] = {}
    index: dict[str, Path] | None = None
    missing = []
    for tv in videos:
        direct = root / tv.relpath
        if direct.is_file():
            paths[tv.name] = direct
            continue
        if index is None:  # the layout differs: walk the tree once
            index = index_video_files(root, get_dataset(tv.dataset).video_key)
        hit = index.get(tv.key)
        if hit is None:
            missing.append(tv.name)
        else:
            paths[tv.name] = hit
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise VideoError(f"{root}: {len(missing)} of {len(videos)} test videos not found: {shown}")
    return paths


def probe_frame_counts(paths: Mapping[str, Path], progress: bool = True) -> dict[str, int]:
    """Exact frame counts by decoding each video's headers/packets (fgvad.data.video.probe_video)."""
    from tqdm import tqdm

    from fgvad.data.video import probe_video

    return {name: int(probe_video(path).n_frames)
            for name, path in tqdm(paths.items(), desc="probing videos", unit="video",
                                   disable=not progress, file=sys.stderr)}


def resolve_frame_counts(videos: list[TestVideo], *, annotation: str, frame_counts: str | None = None,
                         video_root: str | None = None) -> tuple[dict[str, int], str]:
    """Frame counts for ``videos`` and a note saying where they came from.

    Priority: --frame-counts (a file, or a dataset name for its shipped counts), then
    --video-root (probed), then counts written in the annotation itself, then the shipped
    counts of the dataset whose shipped annotation this is (UCF-Crime).
    """
    from fgvad.core.datasets import resolve_shipped

    if frame_counts is not None:
        source = resolve_shipped(frame_counts, "frame_counts")
        counts = load_frame_counts(source)
        if video_root is None:
            return counts, f"frame counts from {source}"
        # The videos are here too: a count beyond a video's real length is a wrong file.
        key = get_dataset(videos[0].dataset).video_key if videos else UCF_CRIME.video_key
        real = probe_frame_counts(locate_test_videos(video_root, videos))
        given = {key(k): n for k, n in counts.items()}
        for name, n_real in real.items():
            n = given.get(key(name))
            if n is not None and n > n_real:
                raise EvalError(f"{source}: {name} has {n:,} frames there but the video in {video_root} has "
                                f"{n_real:,}; fix the count, or leave out --frame-counts to count the videos")
        return counts, f"frame counts from {source} (none beyond the videos in {video_root})"
    if video_root is not None:
        return probe_frame_counts(locate_test_videos(video_root, videos)), f"frame counts probed in {video_root}"
    if all(tv.n_frames is not None for tv in videos):
        return {tv.name: int(tv.n_frames) for tv in videos}, f"frame counts from {annotation}"
    spec = DATASETS.get(annotation)
    if spec is not None and spec.frame_counts is not None:
        return load_frame_counts(spec.frame_counts), f"frame counts from {spec.frame_counts} (shipped)"
    shipped = "|".join(name for name, s in DATASETS.items() if s.frame_counts is not None)
    raise UsageError(f"{annotation}: has no frame counts for every video; give --frame-counts FILE"
                     f"{'|' + shipped if shipped else ''} (lines 'NAME N') or --video-root DIR")
