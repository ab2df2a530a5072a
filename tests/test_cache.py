from __future__ import annotations

import json
import os

import numpy as np
import pytest

from fgvad.cli import main as fgvad_main
from fgvad.data.annotations import load_annotations
from fgvad.data.cache import FrameCache, build_cache
from fgvad.data.video import decode_frames, probe_video, sample_indices
from fgvad.core.errors import CacheError
from helpers_video import make_indexed_video, read_index


def _write_annotations(path, entries):
    path.write_text(json.dumps(entries))
    return path


@pytest.fixture()
def dataset(tmp_path):
    root = tmp_path / "videos"
    make_indexed_video(root / "Abuse" / "Abuse001_x264.mp4", 90)
    make_indexed_video(root / "Normal" / "Normal_Videos001_x264.mp4", 120)
    entries = [
        {"video": "Abuse/Abuse001_x264.mp4", "global_caption": "a man hits another man",
         "region_captions": ["the man in red", "the man in blue"],
         "box_infos": [[{"frame": 10, "bbox": [0.1, 0.1, 0.5, 0.5]}, {"frame": 50, "bbox": [0.2, 0.2, 0.6, 0.6]}],
                       [{"frame": 50, "bbox": [0.5, 0.1, 1.0000000000000004, 0.9]}]],
         "timestamps": None},
        {"video": "Normal/Normal_Videos001_x264.mp4", "global_caption": "an empty corridor",
         "region_captions": ["the corridor"], "box_infos": [[]], "timestamps": [1.0, 3.0]},
        {"video": "Normal/Normal_Videos001_x264.mp4", "global_caption": "an empty corridor later",
         "region_captions": ["the corridor"], "box_infos": [[]], "timestamps": [2.0, 4.0]},
    ]
    ann = _write_annotations(tmp_path / "train.json", entries)
    return root, ann, tmp_path / "cache"


def test_round_trip_equals_fresh_decoding(dataset):
    root, ann, out = dataset
    entries = load_annotations(ann)
    report = build_cache(entries, root, out, num_frames=6, size=32, workers=2, progress=False)
    assert (report.built, report.skipped, report.failed) == (3, 0, [])
    cache = FrameCache.open(out)
    for entry in entries:
        assert cache.has(entry)
        sample = cache.load(entry)
        assert isinstance(sample.frames, np.memmap) or isinstance(sample.frames.base, np.memmap)
        path = root / entry.video
        info = probe_video(path)
        start, end = (0, info.n_frames) if entry.clip is None else (round(entry.clip[0] * 30), round(entry.clip[1] * 30))
        expected_idx = sample_indices(info.n_frames, 6, start, end)
        assert np.array_equal(sample.frame_indices, expected_idx)
        assert np.array_equal(sample.frames, decode_frames(path, expected_idx, 32))
        assert sample.keyframe_indices.tolist() == entry.keyframes
        assert [read_index(f) for f in sample.keyframes] == entry.keyframes
        assert cache.verify(entry)
    assert entries[0].keyframes == [9, 49]  # 1-based in the file


def test_resume_skips_and_rebuilds_changed_sources(dataset):
    root, ann, out = dataset
    entries = load_annotations(ann)
    build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    again = build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    assert (again.built, again.skipped) == (0, 3)
    video = root / entries[0].video
    stat = video.stat()
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    assert (changed.built, changed.skipped) == (1, 2)
    resized = build_cache(entries, root, out, num_frames=4, size=24, workers=1, progress=False)
    assert (resized.built, resized.skipped) == (3, 0)
    assert FrameCache.open(out).size == 24
    assert not list(out.rglob(".*tmp*"))


def test_partial_file_is_detected(dataset):
    root, ann, out = dataset
    entries = load_annotations(ann)
    build_cache(entries[:1], root, out, num_frames=4, size=16, workers=1, progress=False)
    cache = FrameCache.open(out)
    path = out / "samples" / cache.samples[entries[0].sample_key]["file"]
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CacheError, match="partial or corrupt"):
        cache.load(entries[0])
    with pytest.raises(CacheError, match="not cached"):
        cache.load(entries[1])
    rebuilt = build_cache(entries[:1], root, out, num_frames=4, size=16, workers=1, progress=False)
    assert rebuilt.built == 1


def test_cli_reports_failed_videos_and_caches_the_rest(dataset, capsys):
    root, ann, out = dataset
    raw = json.loads(ann.read_text())
    raw.append(dict(raw[0], video="Abuse/Abuse999_x264.mp4"))
    (root / "Abuse" / "Abuse998_x264.mp4").write_text("not a video")
    raw.append(dict(raw[0], video="Abuse/Abuse998_x264.mp4"))
    _write_annotations(ann, raw)
    code = fgvad_main(["data", "cache", str(ann), "--video-root", str(root), "--out", str(out),
                       "--num-frames", "4", "--size", "16", "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 1
    assert "Abuse999_x264.mp4" in captured.err and "Abuse998_x264.mp4" in captured.err
    assert "3 built, 0 already cached, 2 failed" in captured.out
    assert len(FrameCache.open(out)) == 3
