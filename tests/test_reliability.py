"""Reliability of the data path (issue 7, items 2 and 6): corrupt cache files are found
and rebuilt, and many workers give the same cache as one, in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fgvad.cli import main as cli_main
from fgvad.data.annotations import load_annotations
from fgvad.data.cache import FrameCache, build_cache
from fgvad.data.video import write_video
from fgvad.errors import CacheError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def small_videos(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "videos"
    entries = []
    for i in range(3):
        frames = np.stack([np.full((16, 16, 3), (40 * i + 10 * t) % 256, dtype=np.uint8) for t in range(10)])
        write_video(root / "Abuse" / f"Abuse00{i}_x264.mp4", frames, fps=10)
        entries.append({"video": f"Abuse/Abuse00{i}_x264.mp4", "global_caption": "x", "region_captions": ["r"],
                        "box_infos": [[{"frame": 2, "bbox": [0.1, 0.1, 0.5, 0.5]}]]})
    ann = tmp_path / "train.json"
    ann.write_text(json.dumps(entries))
    return root, ann


def test_corrupt_cache_files_are_detected_and_rebuilt(small_videos, tmp_path):
    root, ann = small_videos
    out = tmp_path / "cache"
    entries = load_annotations(ann)
    build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    cache = FrameCache.open(out)
    files = [out / "samples" / cache.samples[e.sample_key]["file"] for e in entries]
    originals = [f.read_bytes() for f in files]

    # 0: partial (truncated) file, 1: same size but flipped pixels, 2: untouched.
    files[0].write_bytes(originals[0][:-50])
    flipped = bytearray(originals[1])
    flipped[-10:] = bytes(255 - b for b in flipped[-10:])
    files[1].write_bytes(bytes(flipped))
    with pytest.raises(CacheError, match="partial or corrupt"):
        cache.load(entries[0])
    assert not cache.verify(entries[1]) and cache.verify(entries[2])

    # A plain re-run catches the partial file by its size ...
    again = build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    assert (again.built, again.skipped) == (1, 2)
    # ... and --verify catches the same-size corruption by its checksum.
    assert cli_main(["data", "cache", str(ann), "--video-root", str(root), "--out", str(out),
                     "--num-frames", "4", "--size", "16", "--workers", "1", "--verify"]) == 0
    assert [f.read_bytes() for f in files] == originals


def test_parallel_cache_of_many_videos_matches_one_worker():
    """The 1,000-video load test of bench/bench_cache_load.py, reduced to 60 videos."""
    result = subprocess.run([sys.executable, str(REPO / "bench" / "bench_cache_load.py"), "--videos", "60",
                             "--workers", "1", "2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    runs = [r for r in lines if "workers" in r]
    assert [r["samples"] for r in runs] == [60, 60]
    assert lines[-1] == {"identical": True, "runs": 2}
    for run in runs:
        # Each decoding process holds one tiny video at a time: far below this bound.
        assert run["peak_rss_process_mib"] < 1024, run
