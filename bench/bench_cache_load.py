"""Load test of `fgvad data cache`: many small videos, 1 vs N workers (issue 7, item 6).

Writes N tiny synthetic videos (default 1,000 of 32x32 px, 16 frames) and an annotation
JSON, then runs `fgvad data cache` once per worker count as a real subprocess, sampling
the RSS of the whole process tree (parent + decoding workers) every 20 ms. Prints one JSON
line per run and a final line saying whether every cache is byte-identical to the first.

    .venv/bin/python bench/bench_cache_load.py                       # 1,000 videos, workers 1 and 4
    .venv/bin/python bench/bench_cache_load.py --videos 60 --workers 1 2 --keep /tmp/x
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil


def write_videos(root: Path, count: int, size: int, frames: int) -> Path:
    """``count`` distinct tiny mp4s (moving gradient + per-video colour) and their annotation JSON."""
    from fgvad.data.video import write_video

    entries = []
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    for i in range(count):
        folder = "Normal_Videos_event" if i % 2 else "Abuse"
        name = f"Normal_Videos{i:04d}_x264.mp4" if i % 2 else f"Abuse{i:04d}_x264.mp4"
        colour = rng.integers(0, 256, size=3)
        clip = np.empty((frames, size, size, 3), dtype=np.uint8)
        for t in range(frames):
            shifted = np.roll(ramp, t * 2)
            clip[t] = ((shifted[None, :, None] + colour[None, None, :]) % 256).astype(np.uint8)
        write_video(root / folder / name, clip, fps=8)
        entries.append({
            "video": f"{folder}/{name}",
            "global_caption": f"synthetic video {i}",
            "region_captions": ["a moving band"],
            "box_infos": [[{"frame": 1 + (i % frames), "bbox": [0.1, 0.1, 0.6, 0.7]}]],
            "timestamps": None,
        })
    annotation = root / "annotations.json"
    annotation.write_text(json.dumps(entries))
    return annotation


def run_cache(annotation: Path, root: Path, out: Path, workers: int, num_frames: int, size: int) -> dict:
    """One `fgvad data cache` run; wall time and the peak summed RSS of its process tree."""
    cmd = [sys.executable, "-m", "fgvad.cli", "data", "cache", str(annotation), "--video-root", str(root),
           "--out", str(out), "--num-frames", str(num_frames), "--size", str(size), "--workers", str(workers)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    parent = psutil.Process(proc.pid)
    peak_tree = peak_single = 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            rss = []
            for p in tree:
                try:
                    rss.append(p.memory_info().rss)
                except psutil.Error:
                    pass
            peak_tree = max(peak_tree, sum(rss))
            peak_single = max([peak_single, *rss])
        except psutil.Error:
            pass
        time.sleep(0.02)
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"cache run with {workers} workers failed ({proc.returncode}): {stderr[-2000:]}")
    return {"workers": workers, "seconds": round(seconds, 2), "peak_rss_tree_mib": round(peak_tree / 2**20, 1),
            "peak_rss_process_mib": round(peak_single / 2**20, 1), "summary": stdout.strip()}


def cache_digest(out: Path) -> tuple[str, int]:
    """A digest over every sample's bytes and its index record (without the mtime-dependent fields)."""
    index = json.loads((out / "index.json").read_text())
    digest = hashlib.sha256()
    for key in sorted(index["samples"]):
        record = dict(index["samples"][key])
        record.pop("source_mtime_ns", None)
        digest.update(key.encode())
        digest.update(json.dumps(record, sort_keys=True).encode())
        digest.update((out / "samples" / record["file"]).read_bytes())
    return digest.hexdigest(), len(index["samples"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--video-size", type=int, default=32)
    parser.add_argument("--video-frames", type=int, default=16)
    parser.add_argument("--num-frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temporary one)")
    args = parser.parse_args(argv)

    work = args.keep or Path(tempfile.mkdtemp(prefix="fgvad-cache-load-"))
    work.mkdir(parents=True, exist_ok=True)
    root = work / "videos"
    start = time.perf_counter()
    annotation = write_videos(root, args.videos, args.video_size, args.video_frames)
    print(json.dumps({"videos": args.videos, "write_seconds": round(time.perf_counter() - start, 2)}), flush=True)
    digests = []
    for workers in args.workers:
        out = work / f"cache_w{workers}"
        result = run_cache(annotation, root, out, workers, args.num_frames, args.size)
        digest, samples = cache_digest(out)
        digests.append(digest)
        print(json.dumps({**result, "samples": samples, "digest": digest[:16]}), flush=True)
    identical = len(set(digests)) == 1
    print(json.dumps({"identical": identical, "runs": len(digests)}), flush=True)
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
