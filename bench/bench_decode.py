"""Decode throughput: decode_frames in one process, and `fgvad data cache` with 1 and 2 workers.

Writes its own synthetic mp4s (moving shapes on noise, 320x240 @ 30 fps) into a temporary
folder, so it needs no data. Prints one line per measurement. "source frames/s" counts the
video frames the decoder walks through (what dominates the cost); "sampled frames/s" the
frames stored.

    .venv/bin/python bench/bench_decode.py [--videos 8] [--frames 300] [--num-frames 32] [--size 224]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from fgvad.data.annotations import Entry, Region
from fgvad.data.cache import build_cache
from fgvad.data.video import decode_frames, probe_video, sample_indices, write_video


def synthetic_frames(n_frames: int, seed: int, width: int = 320, height: int = 240) -> np.ndarray:
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 120, size=(height, width, 3), dtype=np.uint8)
    frames = np.repeat(background[None], n_frames, axis=0)
    noise = rng.integers(0, 12, size=(n_frames, height, width, 1), dtype=np.uint8)
    frames += noise  # sensor noise keeps the encoder honest
    for t in range(n_frames):
        x = (t * 3 + seed * 40) % (width - 40)
        y = (t * 2 + seed * 25) % (height - 40)
        frames[t, y:y + 40, x:x + 40] = (220, 60 + seed * 20 % 180, 40)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--num-frames", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "videos"
        paths = [write_video(root / f"Synthetic{i:03d}.mp4", synthetic_frames(args.frames, i)) for i in range(args.videos)]
        total_source = sum(probe_video(p).n_frames for p in paths)
        results = {}

        start = time.perf_counter()
        for p in paths:
            decode_frames(p, np.arange(args.frames), args.size)
        dt = time.perf_counter() - start
        results["decode_all_frames_1proc"] = {"frames_per_s": total_source / dt, "seconds": dt}

        start = time.perf_counter()
        for p in paths:
            decode_frames(p, sample_indices(args.frames, args.num_frames), args.size)
        dt = time.perf_counter() - start
        results["decode_sampled_1proc"] = {"source_frames_per_s": total_source / dt,
                                           "sampled_frames_per_s": args.videos * args.num_frames / dt,
                                           "videos_per_s": args.videos / dt}

        entries = [Entry(i, p.name, "synthetic", [Region("box", [])]) for i, p in enumerate(paths)]
        for workers in (1, 2):
            report = build_cache(entries, root, Path(tmp) / f"cache_w{workers}", num_frames=args.num_frames,
                                 size=args.size, workers=workers, progress=False)
            assert not report.failed, report.failed
            results[f"data_cache_workers{workers}"] = {
                "source_frames_per_s": total_source / report.seconds,
                "sampled_frames_per_s": report.frames / report.seconds,
                "videos_per_s": report.built / report.seconds,
                "seconds": report.seconds,
            }

    print(f"{args.videos} videos x {args.frames} frames, 320x240 -> {args.size}px, {args.num_frames} sampled per video")
    for name, values in results.items():
        print(json.dumps({"bench": name, **{k: round(v, 1) for k, v in values.items()}}))


if __name__ == "__main__":
    main()
