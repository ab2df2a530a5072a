"""Writing a synthetic dataset in UCF-Crime's layout, for any generator.

This module knows nothing about how videos look. A generator describes its dataset as a
list of :class:`VideoRecord` and hands over a picklable ``render`` callable; :func:`write_dataset`
encodes the videos in worker processes and writes every annotation file in the formats the
users' real data come in. ``fgvad data synth`` uses it, and so can a second generator with
another visual grammar (for held-out checks), which then gets byte-compatible annotations
for free.

The interface
-------------
``VideoRecord`` (one per video, in the order the generator wants them written):

- ``split``: ``"train"`` or ``"test"``;
- ``label``: the class name, or ``"Normal"`` (:data:`NORMAL_LABEL`);
- ``folder``, ``name``: the UCF folder under ``videos/`` and the file name without ``.mp4``
  (e.g. ``"Fighting"``, ``"Fighting001_x264"``; ``"Training_Normal_Videos_Anomaly"``,
  ``"Normal_Videos001_x264"``); ``folder/name.mp4`` must be unique;
- ``frames``, ``width``, ``height``, ``fps``: what ``render`` returns and how it is encoded;
- ``intervals``: the anomalous frame intervals, 0-based and end-exclusive (``(s, e)`` covers
  frames s..e-1), empty for a normal video; the official UCF files hold at most two;
- ``global_caption``: the caption of the whole video;
- ``regions``: :class:`RegionRecord` (``caption``, ``boxes``), where ``boxes`` are
  ``(frame, (x1, y1, x2, y2))`` keyframes with a 0-based frame and the box in pixels (it may
  reach outside the frame; it is clipped);
- ``boxless``: write the entry like the real normal entries, ``"box_infos": [[]]`` (the
  regions must then have no boxes);
- ``facts``: extra JSON-able per-video facts for the manifest (e.g. camera, intervals).

``render(index) -> np.ndarray``: the uint8 frames ``(frames, height, width, 3)`` of
``records[index]``. It must be picklable (a module-level function or an object with
``__call__``) because worker processes call it; it must be a pure function of ``index`` so
the files do not depend on the number of workers.

What is written into ``out``
----------------------------
- ``videos/<folder>/<name>.mp4``: H.264 mp4 (written through :func:`fgvad.data.video.write_video`);
- ``train.json``, ``test.json``: the FG-CLIP VAD annotation format (``video`` relative to
  ``videos/``, keyframes 1-based, boxes normalised xyxy rounded outwards to 1e-4 so they still
  enclose every drawn pixel, ``timestamps: null``);
- ``Temporal_Anomaly_Annotation.txt``: official UCF-Crime format for the test videos
  (``Name.mp4  Class  s1  e1  s2  e2  ``, sorted by name, -1 = none);
- ``test_frame_counts.txt``: ``Folder/Name.mp4 n Class s1 e1 s2 e2 `` per test video;
- ``README.md``: the text the generator passes (:func:`counts_table` helps with it);
- :data:`MANIFEST_NAME`: the generator's ``manifest`` header plus ``videos`` (``video``,
  ``split``, ``label`` and the record's ``facts``) and ``files``, every file written (relative
  to ``out``). It also marks the folder as a synthetic dataset, so writing again into it may
  replace it; any other non-empty folder is refused.

Writing again into a marked folder removes exactly the files the manifest lists (and then the
folders that became empty), never anything else: a file a user put under ``videos/`` stays,
and a new video that would land on such a file is refused before anything is written.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from fgvad.core.errors import SynthError
from fgvad.core.io import check_output_path, read_json, write_text_atomic

NORMAL_LABEL = "Normal"
MANIFEST_NAME = "synth_manifest.json"  # also marks a folder as ours, so regenerating may overwrite it
SPLITS = ("train", "test")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class RegionRecord:
    """A region caption and its keyframe boxes: (0-based frame, pixel xyxy)."""

    caption: str
    boxes: tuple[tuple[int, Box], ...] = ()


@dataclass(frozen=True)
class VideoRecord:
    """Everything the writer needs about one video (see the module docstring)."""

    split: str
    label: str
    folder: str
    name: str
    frames: int
    width: int
    height: int
    fps: int
    intervals: tuple[tuple[int, int], ...]
    global_caption: str
    regions: tuple[RegionRecord, ...]
    boxless: bool = False
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}.mp4"


@dataclass
class WrittenDataset:
    """Where the written files are."""

    root: Path
    video_root: Path
    train_json: Path
    test_json: Path
    temporal_annotation: Path
    frame_counts: Path
    readme: Path
    manifest: Path


def _round_box(b: Box, w: int, h: int) -> list[float]:
    # Round outwards so the written box still encloses every drawn pixel.
    x1, y1 = max(b[0], 0.0) / w, max(b[1], 0.0) / h
    x2, y2 = min(b[2], w) / w, min(b[3], h) / h
    return [math.floor(x1 * 1e4) / 1e4, math.floor(y1 * 1e4) / 1e4, math.ceil(x2 * 1e4) / 1e4, math.ceil(y2 * 1e4) / 1e4]


def annotation_entry(record: VideoRecord) -> dict:
    """The FG-CLIP VAD entry of a video (keyframes 1-based, boxes normalised xyxy)."""
    if record.boxless:
        box_infos: list[list[dict]] = [[] for _ in record.regions]
    else:
        box_infos = [[{"frame": t + 1, "bbox": _round_box(b, record.width, record.height)} for t, b in region.boxes]
                     for region in record.regions]
    return {"video": record.relpath, "global_caption": record.global_caption,
            "region_captions": [region.caption for region in record.regions], "box_infos": box_infos,
            "timestamps": None}


def _interval_fields(intervals: Sequence[tuple[int, int]]) -> list[int]:
    flat = [v for iv in intervals[:2] for v in iv]
    return flat + [-1] * (4 - len(flat))


def counts_table(records: Sequence[VideoRecord]) -> str:
    """Markdown rows ``| split | class | videos |`` (header not included), for a README."""
    counts: dict[str, dict[str, int]] = {}
    for r in records:
        counts.setdefault(r.split, {}).setdefault(r.label, 0)
        counts[r.split][r.label] += 1
    return "\n".join(f"| {split} | {label} | {n} |" for split in SPLITS for label, n in sorted(counts.get(split, {}).items()))


def _check_records(records: Sequence[VideoRecord]) -> None:
    # These are generator bugs, not user errors: fail loudly before anything is written.
    seen: set[str] = set()
    for r in records:
        if r.split not in SPLITS:
            raise ValueError(f"{r.relpath}: split must be one of {SPLITS}, not {r.split!r}")
        if r.relpath in seen:
            raise ValueError(f"{r.relpath}: two records write the same video")
        seen.add(r.relpath)
        if any(not 0 <= s < e <= r.frames for s, e in r.intervals):
            raise ValueError(f"{r.relpath}: intervals {list(r.intervals)} are not inside 0..{r.frames}")
        if r.boxless and any(region.boxes for region in r.regions):
            raise ValueError(f"{r.relpath}: a boxless record has region boxes")


ANNOTATION_FILES = ("train.json", "test.json", "Temporal_Anomaly_Annotation.txt", "test_frame_counts.txt",
                    "README.md", MANIFEST_NAME)


def _files_written_before(out: Path) -> list[Path]:
    """The files an earlier run wrote into ``out``, as its manifest lists them (older manifests:
    their videos plus the fixed annotation files). Entries that leave ``out`` are ignored."""
    manifest = read_json(out / MANIFEST_NAME, what="synthetic dataset manifest", error=SynthError)
    if not isinstance(manifest, dict):
        raise SynthError(f"{out / MANIFEST_NAME}: not a manifest of fgvad data synth; choose another --out")
    listed = manifest.get("files")
    if not isinstance(listed, list):
        videos = manifest.get("videos") if isinstance(manifest.get("videos"), list) else []
        listed = [f"videos/{v['video']}" for v in videos if isinstance(v, dict) and isinstance(v.get("video"), str)]
        listed += list(ANNOTATION_FILES)
    root = out.resolve()
    files = []
    for rel in listed:
        if isinstance(rel, str) and ".." not in Path(rel).parts and not Path(rel).is_absolute():
            path = (out / rel)
            if path.resolve().is_relative_to(root):
                files.append(path)
    return files


def _remove_written_before(out: Path) -> None:
    """Remove what an earlier run wrote (stale videos of a larger set must not linger), and the
    folders that this leaves empty; nothing else."""
    files = _files_written_before(out)
    folders = set()
    for path in files:
        if path.is_file() or path.is_symlink():
            path.unlink()
        parent = path.parent
        while parent != out and out in parent.parents:
            folders.add(parent)
            parent = parent.parent
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):  # deepest first
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: it holds someone else's files


def _prepare_out(out: Path, records: Sequence[VideoRecord]) -> None:
    check_output_path(out, flag="--out", folder=True, error=SynthError)
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST_NAME).is_file():
            raise SynthError(f"{out}: folder is not empty and holds no synthetic dataset; choose an empty or new folder")
        _remove_written_before(out)
    in_the_way = [out / "videos" / r.relpath for r in records if (out / "videos" / r.relpath).exists()]
    in_the_way += [out / name for name in ANNOTATION_FILES if (out / name).exists()]
    if in_the_way:
        raise SynthError(f"{in_the_way[0]}: exists and was not written by fgvad data synth; move it away or "
                         "choose another --out")
    out.mkdir(parents=True, exist_ok=True)


_WORKER_RENDER: Callable[[int], np.ndarray] | None = None


def _set_worker_render(render: Callable[[int], np.ndarray]) -> None:
    global _WORKER_RENDER
    _WORKER_RENDER = render


def _encode(render: Callable[[int], np.ndarray], index: int, record: VideoRecord, path: str) -> None:
    from fgvad.data.video import write_video

    frames = render(index)
    expected = (record.frames, record.height, record.width, 3)
    if frames.dtype != np.uint8 or frames.shape != expected:
        raise ValueError(f"{record.relpath}: render returned {frames.dtype} {frames.shape}, expected uint8 {expected}")
    write_video(path, frames, fps=record.fps)


def _encode_in_worker(job: tuple[int, VideoRecord, str]) -> None:
    assert _WORKER_RENDER is not None, "worker started without a render callable"
    _encode(_WORKER_RENDER, *job)


def _write_videos(records: Sequence[VideoRecord], render: Callable[[int], np.ndarray], video_root: Path,
                  progress: bool, workers: int | None) -> None:
    from tqdm import tqdm

    workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), 8, len(records) // 8 or 1))
    jobs = [(i, r, str(video_root / r.relpath)) for i, r in enumerate(records)]
    bar = tqdm(total=len(jobs), desc="synth videos", unit="video", file=sys.stderr, disable=not progress, leave=False)
    if workers == 1:
        for job in jobs:
            _encode(render, *job)
            bar.update()
    else:
        # Rendering is numpy-bound and single-threaded, so processes scale with cores. Fork where
        # available: "spawn" would re-run the caller's main script, and the children only use
        # numpy and PyAV (never the parent's torch thread pools), which is what makes fork safe.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                                 initializer=_set_worker_render, initargs=(render,)) as pool:
            for _ in pool.map(_encode_in_worker, jobs, chunksize=max(1, len(jobs) // (workers * 4))):
                bar.update()
    bar.close()


def write_dataset(out: str | Path, records: Sequence[VideoRecord], render: Callable[[int], np.ndarray], *,
                  manifest: dict[str, Any], readme: str, progress: bool = True,
                  workers: int | None = None) -> WrittenDataset:
    """Write the videos and annotation files of ``records`` into ``out`` (see the module docstring).

    ``workers`` processes render and encode videos (default: one per CPU core, at most 8); the
    files do not depend on it.
    """
    _check_records(records)
    root = Path(out)
    _prepare_out(root, records)
    written = WrittenDataset(
        root=root, video_root=root / "videos", train_json=root / "train.json", test_json=root / "test.json",
        temporal_annotation=root / "Temporal_Anomaly_Annotation.txt", frame_counts=root / "test_frame_counts.txt",
        readme=root / "README.md", manifest=root / MANIFEST_NAME,
    )
    # The manifest goes first: it lists every file this run will write, so a run stopped half-way
    # leaves a folder that the next run recognises as its own and cleans up exactly.
    videos = [{"video": r.relpath, "split": r.split, "label": r.label, **r.facts} for r in records]
    files = [f"videos/{r.relpath}" for r in records] + list(ANNOTATION_FILES)
    write_text_atomic(written.manifest, json.dumps({**manifest, "videos": videos, "files": files}, indent=2) + "\n")
    _write_videos(records, render, written.video_root, progress, workers)

    def dump(entries: list[dict]) -> str:
        return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"

    test = [r for r in records if r.split == "test"]
    write_text_atomic(written.train_json, dump([annotation_entry(r) for r in records if r.split == "train"]))
    write_text_atomic(written.test_json, dump([annotation_entry(r) for r in test]))
    official = sorted(f"{r.name}.mp4  {r.label}  " + "  ".join(str(v) for v in _interval_fields(r.intervals)) + "  "
                      for r in test)
    write_text_atomic(written.temporal_annotation, "\n".join(official) + "\n")
    counted = [f"{r.relpath} {r.frames} {r.label} " + " ".join(str(v) for v in _interval_fields(r.intervals)) + " "
               for r in test]
    write_text_atomic(written.frame_counts, "\n".join(counted) + "\n")
    write_text_atomic(written.readme, readme)
    return written
