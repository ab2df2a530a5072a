"""Decoded-frame cache: `fgvad data cache` writes it, :class:`FrameCache` reads it.

Layout of a cache folder::

    index.json                 settings + one record per sample (see _build_one below)
    samples/<name>.npy         uint8 (T + K, H, W, 3): T uniform frames, then K keyframes

Frames are sized by a :class:`~fgvad.data.geometry.FrameGeometry`: ``S x S`` for square
models (FG-CLIP v1, ``--size``), or each video's NaFlex size for FG-CLIP 2 / SigLIP 2
(``--max-num-patches``: aspect kept, sides multiples of the patch size; the record's
``frame_hw``), which is all the NaFlex processor needs: its resize is then the identity.
One ``.npy`` per sample (video, or video clip) so training reads it memory-mapped and
decoding happens once. A sample is rebuilt when its source video's size or mtime, or the
cache settings (frames, geometry, keyframes), change; everything else is skipped, so an
interrupted run resumes where it stopped. Files are written under a temporary name and
renamed, so a crash never leaves a half file under a real name.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from fgvad.core.errors import CacheError, FgvadError, UsageError
from fgvad.core.io import atomic_path, check_output_path, existing_ancestor, read_json, write_text_atomic
from fgvad.data.geometry import FrameGeometry

INDEX_NAME = "index.json"
SAMPLES_DIR = "samples"
CACHE_VERSION = 1
_INDEX_SAVE_SECONDS = 20.0  # how often a long run persists its progress

@dataclass
class CachedSample:
    """One cached sample, memory-mapped: arrays are read-only views of the .npy file."""

    frames: np.ndarray  # uint8 (T, H, W, 3)
    frame_indices: np.ndarray  # int64 (T,)
    keyframes: np.ndarray  # uint8 (K, H, W, 3)
    keyframe_indices: np.ndarray  # int64 (K,)


def sample_file_name(sample_key: str) -> str:
    """A file-system-safe, collision-free name for a sample key (video@clip)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", sample_key)[:80]
    digest = hashlib.sha1(sample_key.encode("utf-8")).hexdigest()[:10]
    return f"{safe}-{digest}.npy"


def _source_stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


# --------------------------------------------------------------------------- reading


def _index_geometry(index: dict[str, Any]) -> FrameGeometry:
    # Caches written before NaFlex geometries have only "size" (square frames).
    return FrameGeometry.from_dict(index["geometry"]) if "geometry" in index else FrameGeometry.square(index["size"])


def _record_geometry(record: dict[str, Any]) -> FrameGeometry | None:
    try:
        return _index_geometry(record)
    except (KeyError, FgvadError):
        return None


def _record_hw(record: dict[str, Any], geometry: FrameGeometry) -> tuple[int, int]:
    if "frame_hw" in record:
        return int(record["frame_hw"][0]), int(record["frame_hw"][1])
    return geometry.size, geometry.size


class FrameCache:
    """Read access to a cache folder built by `fgvad data cache`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        index_path = self.root / INDEX_NAME
        if not index_path.exists():
            raise CacheError(f"{index_path}: no frame cache here (build one with `fgvad data cache`)")
        index = read_json(index_path, what="cache index", error=CacheError)
        if not isinstance(index, dict) or index.get("version") != CACHE_VERSION:
            raise CacheError(f"{index_path}: not a version-{CACHE_VERSION} fgvad cache index; rebuild it")
        self.num_frames: int = int(index["num_frames"])
        geometry = _record_geometry(index)
        if geometry is None:
            raise CacheError(f"{index_path}: no valid frame size or geometry; rebuild the cache")
        self.geometry = geometry
        self.size: int = self.geometry.size  # the square side; 0 for NaFlex frames
        self.samples: dict[str, dict[str, Any]] = index.get("samples", {})

    @classmethod
    def open(cls, root: str | Path) -> "FrameCache":
        return cls(root)

    def __len__(self) -> int:
        return len(self.samples)

    def has(self, entry) -> bool:
        """True when the entry's sample is cached with the same keyframes as the entry asks for."""
        record = self.samples.get(entry.sample_key)
        return (record is not None and record["keyframe_indices"] == list(entry.keyframes)
                and (self.root / SAMPLES_DIR / record["file"]).is_file())

    def load(self, entry) -> CachedSample:
        record = self.samples.get(entry.sample_key)
        if record is None:
            raise CacheError(f"{self.root}: sample {entry.sample_key} (entry {entry.index}) is not cached; "
                             "run `fgvad data cache` for this annotation file")
        path = self.root / SAMPLES_DIR / record["file"]
        n_frames, n_key = len(record["frame_indices"]), len(record["keyframe_indices"])
        try:
            if path.stat().st_size != record["bytes"]:
                raise CacheError(f"{path}: size differs from the index (partial or corrupt file); rebuild the cache")
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError:
            raise CacheError(f"{path}: cached file missing; rebuild the cache") from None
        except ValueError as err:
            raise CacheError(f"{path}: not a valid .npy file ({err}); rebuild the cache") from None
        height, width = _record_hw(record, self.geometry)
        if array.dtype != np.uint8 or array.shape != (n_frames + n_key, height, width, 3):
            raise CacheError(f"{path}: array {array.dtype} {array.shape} does not match the index; rebuild the cache")
        return CachedSample(
            frames=array[:n_frames],
            frame_indices=np.asarray(record["frame_indices"], dtype=np.int64),
            keyframes=array[n_frames:],
            keyframe_indices=np.asarray(record["keyframe_indices"], dtype=np.int64),
        )

    def verify(self, entry) -> bool:
        """Full content check against the stored CRC-32 (reads the whole file)."""
        record = self.samples[entry.sample_key]
        data = np.load(self.root / SAMPLES_DIR / record["file"], mmap_mode="r")
        return zlib.crc32(np.ascontiguousarray(data).data) == record["crc32"]


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class _Job:
    sample_key: str
    entry_index: int
    video: str  # as written in the annotation, for messages
    path: str
    clip: tuple[float, float] | None
    keyframes: tuple[int, ...]
    num_frames: int
    geometry: FrameGeometry
    out_dir: str
    file: str


def _build_one(job: _Job) -> tuple[_Job, dict[str, Any] | None, str | None]:
    """Decode one sample and write its .npy; runs in a worker process. Never raises."""
    from fgvad.data.video import clip_range, decode_frames, probe_video, sample_indices

    try:
        source = Path(job.path)
        size_bytes, mtime_ns = _source_stamp(source) if source.exists() else (0, 0)
        info = probe_video(source)
        start, end = clip_range(info, job.clip)
        frame_indices = sample_indices(info.n_frames, job.num_frames, start, end)
        late = [k for k in job.keyframes if k >= info.n_frames]
        if late:
            raise CacheError(f"keyframe {late[0]} is at or beyond the video's {info.n_frames} frames")
        wanted = np.concatenate([frame_indices, np.asarray(job.keyframes, dtype=np.int64)])
        frame_hw = job.geometry.frame_size(info.height, info.width)
        array = decode_frames(source, wanted, frame_hw)
        out = Path(job.out_dir) / job.file
        with atomic_path(out) as tmp:
            np.save(tmp, array, allow_pickle=False)
        record = {
            "file": job.file,
            "video": job.video,
            "source_size": size_bytes,
            "source_mtime_ns": mtime_ns,
            "num_frames": job.num_frames,
            "size": job.geometry.size,
            "geometry": job.geometry.to_dict(),
            "frame_hw": [int(v) for v in frame_hw],
            "clip": list(job.clip) if job.clip else None,
            "frame_indices": [int(i) for i in frame_indices],
            "keyframe_indices": list(job.keyframes),
            "video_frames": info.n_frames,
            "bytes": out.stat().st_size,
            "crc32": zlib.crc32(np.ascontiguousarray(array).data),
        }
        return job, record, None
    except FgvadError as err:
        return job, None, str(err)
    except Exception as err:  # noqa: BLE001 - one bad video must not stop the others
        return job, None, f"{type(err).__name__}: {err}"


def _is_fresh(record: dict[str, Any] | None, job: _Job, out_dir: Path) -> bool:
    if record is None:
        return False
    try:
        size_bytes, mtime_ns = _source_stamp(Path(job.path))
    except OSError:
        return False
    file = out_dir / record["file"]
    return (
        record.get("source_size") == size_bytes
        and record.get("source_mtime_ns") == mtime_ns
        and record.get("num_frames") == job.num_frames
        and _record_geometry(record) == job.geometry
        and record.get("keyframe_indices") == list(job.keyframes)
        and (list(record["clip"]) if record.get("clip") else None) == (list(job.clip) if job.clip else None)
        and file.is_file()
        and file.stat().st_size == record.get("bytes")
    )


def _crc_matches(record: dict[str, Any], out_dir: Path) -> bool:
    try:
        data = np.load(out_dir / record["file"], mmap_mode="r", allow_pickle=False)
        return zlib.crc32(np.ascontiguousarray(data).data) == record.get("crc32")
    except (OSError, ValueError):
        return False


@dataclass
class CacheReport:
    built: int = 0
    skipped: int = 0
    failed: list[tuple[_Job, str]] | None = None
    frames: int = 0
    seconds: float = 0.0


def build_cache(
    entries: Iterable,
    video_root: str | Path,
    out: str | Path,
    *,
    num_frames: int,
    size: int | FrameGeometry,
    workers: int | None = None,
    progress: bool = True,
    log=None,
    verify: bool = False,
    path_map: Any = None,
) -> CacheReport:
    """Decode every (distinct) sample of ``entries`` into the cache at ``out``.

    ``size``: a square side, or a :class:`FrameGeometry` (NaFlex frames). Sizes in the index
    catch partial files on every run; ``verify`` also re-reads each cached file and
    rebuilds those whose CRC-32 differs (bit rot, a stranger's edit).

    ``path_map`` (a :class:`fgvad.data.paths.PathMap`, ``--path-map``) rewrites video paths
    before they are resolved under ``video_root``; Label Studio URLs resolve without it.
    """
    from tqdm import tqdm

    from fgvad.data.paths import resolve_video_path, video_path_problem

    if num_frames < 1 or (isinstance(size, int) and size < 1):
        raise UsageError(f"--num-frames and --size must be positive (got {num_frames}, {size})")
    geometry = FrameGeometry.of(size)
    workers = workers or min(4, os.cpu_count() or 1)
    check_output_path(out, flag="--out", folder=True)
    root, out_dir = Path(out), Path(out) / SAMPLES_DIR
    index_path = root / INDEX_NAME
    index: dict[str, Any] = {"version": CACHE_VERSION, "num_frames": num_frames, "size": geometry.size,
                             "geometry": geometry.to_dict(), "samples": {}}
    if index_path.exists():
        try:
            old = read_json(index_path, what="cache index", error=CacheError)
        except CacheError:
            old = None  # a broken index only costs a rebuild
        if isinstance(old, dict) and old.get("version") == CACHE_VERSION:
            index["samples"] = old.get("samples", {})
    # One cache folder holds one setting; samples of another setting are dropped (once the space is checked).
    stale = {key: rec for key, rec in index["samples"].items()
             if rec.get("num_frames") != num_frames or _record_geometry(rec) != geometry}
    for key in stale:
        del index["samples"][key]

    report = CacheReport(failed=[])
    jobs: list[_Job] = []
    seen: set[str] = set()
    for entry in entries:
        if entry.sample_key in seen:
            continue
        seen.add(entry.sample_key)
        if entry.is_image:
            report.failed.append((_Job(entry.sample_key, entry.index, entry.video, "", None, (), num_frames, geometry,
                                       str(out_dir), ""), "image entries are not cached (videos only)"))
            continue
        unsafe = video_path_problem(video_root, entry.video, path_map)
        if unsafe is not None:  # never decode a file outside --video-root (hostile annotation)
            report.failed.append((_Job(entry.sample_key, entry.index, entry.video, "", None, (), num_frames, geometry,
                                       str(out_dir), ""), unsafe))
            continue
        job = _Job(entry.sample_key, entry.index, entry.video, str(resolve_video_path(video_root, entry.video, path_map)),
                   entry.clip, tuple(entry.keyframes), num_frames, geometry, str(out_dir),
                   sample_file_name(entry.sample_key))
        record = index["samples"].get(job.sample_key)
        if _is_fresh(record, job, out_dir) and (not verify or _crc_matches(record, out_dir)):
            report.skipped += 1
        else:
            jobs.append(job)

    _check_free_space(root, jobs, num_frames, geometry, freed=sum(int(r.get("bytes", 0)) for r in stale.values()))
    for rec in stale.values():
        (out_dir / rec["file"]).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)

    say = log or (lambda line: tqdm.write(line, file=sys.stderr))
    repeated: list[tuple[int, str]] = []  # (distinct frames, video) of samples much shorter than num_frames
    for job, message in report.failed:
        say(f"failed  entry {job.entry_index}  {job.video}: {message}")
    start = time.perf_counter()
    last_save = start
    bar = tqdm(total=len(jobs), unit="video", disable=not progress, file=sys.stderr, desc="caching")
    pool = None
    try:
        if workers > 1 and len(jobs) > 1:
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            pool = multiprocessing.get_context(method).Pool(min(workers, len(jobs)))
            results = pool.imap_unordered(_build_one, jobs)
        else:
            results = map(_build_one, jobs)
        for job, record, error in results:
            if record is None:
                report.failed.append((job, error or "unknown error"))
                say(f"failed  entry {job.entry_index}  {job.video}: {error}")
            else:
                index["samples"][job.sample_key] = record
                distinct = len(set(record["frame_indices"]))
                if num_frames > 2 * distinct:
                    repeated.append((distinct, job.video))
                report.built += 1
                report.frames += len(record["frame_indices"]) + len(record["keyframe_indices"])
            bar.update(1)
            elapsed = max(time.perf_counter() - start, 1e-9)
            bar.set_postfix_str(f"{report.frames / elapsed:.0f} frames/s", refresh=False)
            if time.perf_counter() - last_save > _INDEX_SAVE_SECONDS:
                write_text_atomic(index_path, json.dumps(index, indent=1))
                last_save = time.perf_counter()
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
        write_text_atomic(index_path, json.dumps(index, indent=1))
    report.seconds = time.perf_counter() - start
    if repeated:
        shortest, video = min(repeated)
        copies = math.ceil(num_frames / shortest)
        say(f"warning: --num-frames {num_frames} is more than twice the length of {len(repeated)} sample(s) "
            f"(shortest: {video}, {shortest} frames): each frame is stored up to {copies} times in the cache; "
            "a lower --num-frames saves that space")
    return report


def estimated_sample_bytes(num_frames: int, keyframes: int, size: "int | FrameGeometry") -> int:
    """Bytes of one cached sample: its uint8 frames plus the .npy header (an upper bound for NaFlex frames)."""
    return (num_frames + keyframes) * FrameGeometry.of(size).max_pixels * 3 + 128


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _check_free_space(root: Path, jobs: list[_Job], num_frames: int, geometry: FrameGeometry, freed: int = 0) -> None:
    """Refuse, before decoding anything, a cache the disk cannot hold (it would fail hours in)."""
    if not jobs:
        return
    needed = sum(estimated_sample_bytes(num_frames, len(job.keyframes), geometry) for job in jobs)
    free = shutil.disk_usage(existing_ancestor(root)).free + freed
    if needed > free:
        raise CacheError(f"--out {root}: the cache needs about {_gib(needed)} ({len(jobs)} samples of {num_frames} "
                         f"frames + keyframes, {geometry.describe()}) but only {_gib(free)} are free there; free some space, "
                         "lower --num-frames or --size, or choose another --out")
