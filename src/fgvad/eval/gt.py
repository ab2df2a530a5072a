"""Frame-level ground truth for the UCF-Crime protocol, in named modes.

Public repos disagree on how frame labels are built from the temporal annotation, which
moves AUC by tenths of a point; fgvad makes the convention explicit (see
../shared/datasets/README.md for the facts behind each rule):

- ``frames``: every real frame of the video, labels on 0-based end-exclusive intervals
  ``s <= i < e`` clipped to ``n``. 1,111,808 frames / 84,182 positives on UCF-Crime.
- ``floor16``: the same labels cut to ``16 * floor(n / 16)`` frames (whole 16-frame
  snippets only). 1,109,824 / 84,160.
- ``i3d``: the ground truth shipped with the I3D features used by RTFM, UR-DMU and
  PEL4VAD: ``16 * T`` frames with ``T = floor(n / 16)``, except nine videos whose feature
  extractor produced one snippet fewer. 1,109,680 / 84,128, identical to PEL4VAD's arrays.

The ``fgvad gt`` command (fgvad.cli.gt) writes these arrays as an .npz.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from fgvad.core.constants import MAX_VIDEO_FRAMES, SNIPPET_FRAMES
from fgvad.core.errors import EvalError, UsageError, VideoError
from fgvad.data.annotations import TestVideo, load_frame_counts, video_key

GT_MODES = ("frames", "floor16", "i3d")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v")

# Test videos whose n is divisible by 16 but whose public I3D features have n/16 - 1
# snippets (the extractor most likely decoded one frame fewer). Matched by video_key, so
# both spellings of the normal names work.
I3D_SHORT_BY_ONE_SNIPPET = frozenset(video_key(n) for n in (
    "Assault006_x264", "Burglary037_x264", "Normal_Videos_881_x264", "Normal_Videos_914_x264",
    "RoadAccidents010_x264", "RoadAccidents016_x264", "Shooting046_x264",
    "Shoplifting010_x264", "Shoplifting015_x264",
))


def gt_length(name: str, n_frames: int, mode: str) -> int:
    """Number of ground-truth frames of a video of ``n_frames`` real frames under ``mode``."""
    if mode == "frames":
        return n_frames
    snippets = n_frames // SNIPPET_FRAMES
    if mode == "floor16":
        return SNIPPET_FRAMES * snippets
    if mode == "i3d":
        if n_frames % SNIPPET_FRAMES == 0 and video_key(name) in I3D_SHORT_BY_ONE_SNIPPET:
            snippets -= 1
        return SNIPPET_FRAMES * max(snippets, 0)
    raise UsageError(f"unknown ground-truth mode {mode!r} (choose from {', '.join(GT_MODES)})")


def frame_labels(video: TestVideo, n_frames: int, mode: str = "frames") -> np.ndarray:
    """uint8 0/1 labels of one video: frame i is positive iff s <= i < e for an interval."""
    length = gt_length(video.name, n_frames, mode)
    labels = np.zeros(length, dtype=np.uint8)
    if video.is_anomaly:
        for start, end in video.intervals:
            labels[min(start, length):min(end, length)] = 1
    return labels


def build_ground_truth(videos: Iterable[TestVideo], frame_counts: Mapping[str, int],
                       mode: str = "frames") -> dict[str, np.ndarray]:
    """Labels of every video, keyed by the official name (no extension), in annotation order.

    ``frame_counts`` may be keyed by either spelling of a name (matched by video_key).
    """
    if mode not in GT_MODES:
        raise UsageError(f"unknown ground-truth mode {mode!r} (choose from {', '.join(GT_MODES)})")
    counts = {video_key(k): int(v) for k, v in frame_counts.items()}
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


def index_video_files(root: str | Path) -> dict[str, Path]:
    """Every video file below ``root`` keyed by video_key (first found wins, sorted walk)."""
    root = Path(root)
    if not root.is_dir():
        raise VideoError(f"{root}: video root is not a folder")
    found: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames.sort()
        for fn in sorted(filenames):
            if fn.lower().endswith(VIDEO_SUFFIXES):
                found.setdefault(video_key(fn), Path(dirpath) / fn)
    return found


def locate_test_videos(root: str | Path, videos: Iterable[TestVideo]) -> dict[str, Path]:
    """Path of each test video: ``root/Folder/Name.mp4`` when it exists, else found by name below root.

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
            index = index_video_files(root)
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

    Priority: --frame-counts, then --video-root (probed), then counts written in the
    annotation itself, then (for the shipped UCF-Crime annotation only) the shipped counts.
    """
    from fgvad.core.datasets import UCF_FRAME_COUNTS

    if frame_counts is not None:
        source = UCF_FRAME_COUNTS if frame_counts == "ucf-crime" else frame_counts
        counts = load_frame_counts(source)
        if video_root is None:
            return counts, f"frame counts from {source}"
        # The videos are here too: a count beyond a video's real length is a wrong file.
        real = probe_frame_counts(locate_test_videos(video_root, videos))
        given = {video_key(k): n for k, n in counts.items()}
        for name, n_real in real.items():
            n = given.get(video_key(name))
            if n is not None and n > n_real:
                raise EvalError(f"{source}: {name} has {n:,} frames there but the video in {video_root} has "
                                f"{n_real:,}; fix the count, or leave out --frame-counts to count the videos")
        return counts, f"frame counts from {source} (none beyond the videos in {video_root})"
    if video_root is not None:
        return probe_frame_counts(locate_test_videos(video_root, videos)), f"frame counts probed in {video_root}"
    if all(tv.n_frames is not None for tv in videos):
        return {tv.name: int(tv.n_frames) for tv in videos}, f"frame counts from {annotation}"
    if annotation == "ucf-crime":
        return load_frame_counts(UCF_FRAME_COUNTS), f"frame counts from {UCF_FRAME_COUNTS} (shipped)"
    raise UsageError(f"{annotation}: has no frame counts; give --frame-counts FILE|ucf-crime or --video-root DIR")
