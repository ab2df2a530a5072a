from __future__ import annotations

import json
import subprocess
import sys

import pytest

from fgvad.cli import main as fgvad_main
from fgvad.core.text import non_latin_letters
from fgvad.data.validate import check_annotations, estimate_tokens
from helpers_video import make_indexed_video, make_truncated_video, make_zero_frame_video


def _entry(video, caption="a man walks", regions=None, boxes=None, timestamps=None):
    regions = ["the man"] if regions is None else regions
    boxes = [[{"frame": 5, "bbox": [0.1, 0.1, 0.4, 0.4]}]] if boxes is None else boxes
    return {"video": video, "global_caption": caption, "region_captions": regions, "box_infos": boxes,
            "timestamps": timestamps}


@pytest.fixture(scope="module")
def bad_set(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("check")
    root = tmp / "videos"
    make_indexed_video(root / "good.mp4", 20)
    make_truncated_video(root / "truncated.mp4")
    make_zero_frame_video(root / "zero.mp4")
    (root / "text.mp4").write_text("not a video")
    outside = tmp / "outside.mp4"
    make_indexed_video(outside, 3)
    (root / "link.mp4").symlink_to(outside)
    raw = [
        _entry("good.mp4"),                                                          # 0 fine
        _entry("missing.mp4"),                                                       # 1
        _entry("truncated.mp4"),                                                     # 2
        _entry("text.mp4"),                                                          # 3
        _entry("zero.mp4"),                                                          # 4
        _entry("good.mp4", boxes=[[{"frame": 21, "bbox": [0.1, 0.1, 0.4, 0.4]}]]),   # 5 keyframe past end
        _entry("good.mp4", boxes=[[{"frame": 2, "bbox": [0.5, 0.1, 0.4, 0.4]}]]),    # 6 inverted
        _entry("good.mp4", caption="   "),                                           # 7 empty caption
        _entry("good.mp4", regions=["a", "b"]),                                      # 8 length mismatch
        _entry("good.mp4"),                                                          # 9 duplicate of 0
        _entry("good.mp4", regions=["a man in a baseball帽"]),                       # 10 warning
        _entry("good.mp4", caption="word " * 300),                                   # 11 warning
        _entry("../outside.mp4"),                                                    # 12
        _entry("link.mp4"),                                                          # 13
        _entry("good.mp4", boxes=[[{"frame": 1, "bbox": [0.1, 0.1, 1.0000000000000004, 0.4]}]]),  # 14
        "not an object",                                                             # 15
    ]
    # Duplicates are same video + clip + captions, so give every other entry its own caption.
    for i, entry in enumerate(raw):
        if isinstance(entry, dict) and i not in (7, 9, 11):
            entry["global_caption"] += f" (take {i})" if i else ""
    ann = tmp / "train.json"
    ann.write_text(json.dumps(raw, ensure_ascii=False))
    return ann, root


def test_every_problem_class_is_reported(bad_set):
    ann, root = bad_set
    report = check_annotations(ann, root)
    errors = {(p.index, p.field) for p in report.errors}
    by_index = {}
    for p in report.errors:
        by_index.setdefault(p.index, []).append(p.message)
    assert 0 not in by_index
    assert "file not found" in by_index[1][0]
    assert (2, "video") in errors and (3, "video") in errors and (4, "video") in errors
    assert "zero" in by_index[4][0] or "no video frames" in by_index[4][0]
    assert (5, "box_infos[0][0].frame") in errors and "beyond the video's 20 frames" in by_index[5][0]
    assert (6, "box_infos[0][0].bbox") in errors and "x2 0.4 <= x1 0.5" in by_index[6][0]
    assert (7, "global_caption") in errors and by_index[7] == ["empty caption"]
    assert (8, "box_infos") in errors and "1 box tracks for 2 region captions" in by_index[8][0]
    assert (9, "entry") in errors and "duplicate of entry 0" in by_index[9][0]
    assert "escapes" in by_index[12][0] and "outside --video-root" in by_index[13][0]
    assert by_index[14] == ["x2 1.0000000000000004 outside [0, 1]"]
    assert (15, "entry") in errors
    assert 10 not in by_index and 11 not in by_index
    warnings = {p.index: p.message for p in report.warnings}
    assert set(warnings) == {10, 11}
    assert "CJK" in warnings[10] and "about 302 tokens" in warnings[11]
    assert (report.entries, report.videos) == (16, 5)


def test_human_output_and_exit_codes(bad_set, capsys, tmp_path):
    ann, root = bad_set
    assert fgvad_main(["data", "check", str(ann), "--video-root", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "error   entry 14  good.mp4  box_infos[0][0].bbox  x2 1.0000000000000004 outside [0, 1]" in out
    assert out[-1].startswith("16 entries, 5 videos, ") and out[-1].endswith("2 warnings")
    good = tmp_path / "good.json"
    good.write_text(json.dumps([_entry("good.mp4"), _entry("good.mp4", regions=["a man in a baseball帽"])]))
    assert fgvad_main(["data", "check", str(good), "--video-root", str(root)]) == 0  # warnings are not errors
    assert fgvad_main(["data", "check", str(tmp_path / "nope.json"), "--video-root", str(root)]) == 2


def test_real_json_without_videos(real_train_json, tmp_path):
    # An empty video root (a missing one is a usage error before any check).
    proc = subprocess.run(
        [sys.executable, "-m", "fgvad.cli", "data", "check", str(real_train_json), "--video-root", str(tmp_path),
         "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    assert report["entries"] == 1559
    missing = [e for e in report["errors"] if e["field"] == "video" and "file not found" in e["message"]]
    assert sorted(e["index"] for e in missing) == list(range(1559))
    boxes = [e for e in report["errors"] if e["field"].endswith(".bbox")]
    assert len(boxes) == 21 and all("outside [0, 1]" in e["message"] for e in boxes)
    cjk = [w for w in report["warnings"] if "CJK" in w["message"]]
    assert len(cjk) == 1 and "Burglary055" in cjk[0]["video"]
    # The file also holds 5 exact duplicate entries (e.g. 391 repeats 390).
    assert {e["index"] for e in report["errors"] if e["field"] == "entry"} == {391, 397, 802, 1473, 1544}


def test_text_helpers():
    assert non_latin_letters("a man in a baseball帽, café") == "帽"
    assert non_latin_letters("Привет") == "Привет"
    assert estimate_tokens("a man's hat.") == 7  # a, man, 's, hat, ., plus start/end
