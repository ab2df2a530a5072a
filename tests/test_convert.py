from __future__ import annotations

import json
import re

import numpy as np
import pytest

from fgvad.cli import main
from fgvad.data.annotations import load_annotations, load_video_list, video_key
from fgvad.data.tools.convert import timestamp_problem, video_of_clip
from fgvad.data.video import write_video
from helpers_check import check_errors_besides_missing_videos


@pytest.fixture(scope="module")
def real_normal_json(shared_dir):
    return shared_dir / "datasets" / "ucf_fgclip" / "ucf_normal_videos_1_240_finally.json"


def test_real_normal_caption_file(real_normal_json, tmp_path, capsys):
    out = tmp_path / "normal_train.json"
    prefix = "UCF_Crimes_Videos/UCF_Crimes/Videos/"
    assert main(["data", "convert", str(real_normal_json), "--out", str(out), "--video-prefix", prefix]) == 0
    summary = capsys.readouterr().out
    # Counts of ../shared/datasets/README.md: 916 video keys + 10 stray clips, 2134 placeholders, 1 reversed.
    assert "916 video keys + 10 top-level stray clips, 2704 clips" in summary
    assert "dropped 2134: placeholder [[0.0, 0.0]]" in summary
    assert "dropped 1: reversed timestamps" in summary
    assert "dropped 1: duplicate of an earlier clip" in summary  # Normal_Videos007 clip _3 repeats _2
    assert "kept: 568 clips of 206 videos" in summary
    assert summary.count("misfiled: ") == 2 and "Normal_Videos157_x264_1.mp4 sits under Normal_Videos158_x264.mp4" in summary
    assert "1148 strings in 574 clips" in summary and "fgvad data translate" in summary
    assert "116 of the 916 input videos" in summary

    entries = json.loads(out.read_text(encoding="utf-8"))
    assert len(entries) == 568
    assert all(set(e) == {"video", "global_caption", "region_captions", "box_infos", "timestamps"} for e in entries)
    assert all(e["box_infos"] == [[]] * len(e["region_captions"]) for e in entries)
    assert all(0 <= e["timestamps"][0] < e["timestamps"][1] for e in entries)
    official = {video_key(p): p for p in load_video_list("ucf-crime-train") + load_video_list("ucf-crime-test")}
    assert all(e["video"] == prefix + official[video_key(e["video"])] for e in entries)
    # The misfiled clip stays with the key it sits under: its [0, 18] s continues video 158, not 157.
    assert [e["timestamps"] for e in entries if video_key(e["video"]) == "Normal_Videos158_x264"] == [[0.0, 18.0]]
    loaded = load_annotations(out)
    assert all(not e.is_anomaly and e.clip is not None for e in loaded)
    # `fgvad data check` accepts it apart from the videos, which the tests do not have.
    root = tmp_path / "videos"
    root.mkdir()
    assert check_errors_besides_missing_videos(out, root, capsys) == []

    # --misfiled name refiles by clip name; --bad-timestamps whole-video keeps the placeholders as whole videos.
    out2 = tmp_path / "whole.json"
    assert main(["data", "convert", str(real_normal_json), "--out", str(out2), "--misfiled", "name",
                 "--bad-timestamps", "whole-video"]) == 0
    summary = capsys.readouterr().out
    assert "whole video instead of the clip for 1: reversed" in summary
    assert "116 of the 916 output videos (`fgvad data split` removes them)" in summary
    entries = json.loads(out2.read_text(encoding="utf-8"))
    assert len({video_key(e["video"]) for e in entries}) == 916
    assert [0.0, 18.0] in [e["timestamps"] for e in entries if video_key(e["video"]) == "Normal_Videos157_x264"]
    assert check_errors_besides_missing_videos(out2, root, capsys) == []


def _write(path, seconds: float, fps: int = 10):
    frames = np.zeros((int(seconds * fps), 32, 32, 3), np.uint8)
    frames[:, :, :, 1] = np.linspace(0, 255, len(frames), dtype=np.uint8)[:, None, None]
    write_video(path, frames, fps=fps)


def _clip(start: float, end: float, caption: str = "a quiet office") -> dict:
    return {"timestamps": [[start, end]], "global": {"Caption": caption}, "region": [{"caption": "people at desks"}]}


def test_out_of_range_clips_with_real_videos(tmp_path, capsys):
    root = tmp_path / "ucf"
    _write(root / "Training_Normal_Videos_Anomaly" / "Normal_Videos001_x264.mp4", 3.0)
    src = tmp_path / "normals.json"
    src.write_text(json.dumps({
        "Normal_Videos001_x264.mp4": {
            "Normal_Videos001_x264_1.mp4": _clip(0.0, 2.0),
            "Normal_Videos001_x264_2.mp4": _clip(2.0, 3.2),  # rounding overshoot: kept
            "Normal_Videos001_x264_3.mp4": _clip(2.5, 9.0, "a car park"),  # past the 3 s video
            "Normal_Videos001_x264_4.mp4": _clip(0.0, 0.0, "a shop"),
            "Normal_Videos001_x264_5.mp4": _clip(-1.0, 1.0, "a road"),
        },
        "Normal_Videos002_x264_2.mp4": _clip(1.0, 2.0, "一个商店"),  # stray clip of a video not on disk
    }, ensure_ascii=False))
    out = tmp_path / "out.json"
    assert main(["data", "convert", str(src), "--out", str(out), "--video-root", str(root)]) == 0
    summary = capsys.readouterr().out
    assert "dropped 1: beyond the video's duration" in summary
    assert "dropped 1: placeholder" in summary and "dropped 1: negative timestamps" in summary
    assert "1 videos not found or unreadable under --video-root" in summary
    assert "1 stray top-level clips" in summary and "non-English captions in the input: 1 strings" in summary
    entries = json.loads(out.read_text(encoding="utf-8"))
    assert [(e["video"], e["timestamps"]) for e in entries] == [
        ("Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4", [0.0, 2.0]),
        ("Training_Normal_Videos_Anomaly/Normal_Videos001_x264.mp4", [2.0, 3.2]),
        ("Training_Normal_Videos_Anomaly/Normal_Videos002_x264.mp4", [1.0, 2.0]),
    ]
    assert main(["data", "convert", str(src), "--out", str(out), "--video-root", str(root),
                 "--bad-timestamps", "whole-video"]) == 0
    entries = json.loads(out.read_text(encoding="utf-8"))
    # Three different captions kept as the whole video; none is a duplicate of another.
    assert [e["timestamps"] for e in entries] == [[0.0, 2.0], [2.0, 3.2], None, None, None, [1.0, 2.0]]
    assert main(["data", "convert", str(src), "--out", str(out), "--video-folder", "normals"]) == 0
    entries = json.loads(out.read_text(encoding="utf-8"))
    assert [e["timestamps"] for e in entries] == [[0.0, 2.0], [2.0, 3.2], [2.5, 9.0], [1.0, 2.0]]
    assert {e["video"] for e in entries} == {"normals/Normal_Videos001_x264.mp4", "normals/Normal_Videos002_x264.mp4"}


def test_timestamp_rules():
    assert timestamp_problem([[0.0, 0.0]], None).startswith("placeholder")
    assert timestamp_problem([[272.0, 209.18]], None).startswith("reversed")
    assert timestamp_problem([[1.0, 1.0]], None).startswith("empty")
    assert timestamp_problem([[0.0, "x"]], None) == "malformed timestamps"
    assert timestamp_problem([[0.0, 6.0]], None) is None and timestamp_problem([0.0, 6.0], 6.2) is None
    assert timestamp_problem([[7.0, 8.0]], 6.0).startswith("beyond")
    assert video_of_clip("Normal_Videos157_x264_1.mp4") == "Normal_Videos157_x264"


@pytest.mark.parametrize("content,message", [
    ("[]", "top level must be an object"),
    ('{"Normal_Videos001_x264.mp4": {"c_1.mp4": {"timestamps": [[0, 1]], "global": {}}}}', "global.Caption"),
    ('{"a": 3}', "key a: expected a video object"),
    ("{", "invalid JSON"),
])
def test_bad_input_gives_one_line(tmp_path, capsys, content, message):
    # --strict: a malformed clip refuses the file too (without it, it is left out and listed: test_user_files.py)
    src = tmp_path / "bad.json"
    src.write_text(content)
    assert main(["data", "convert", str(src), "--out", str(tmp_path / "o.json"), "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fgvad: error: ") and message in err and err.count("\n") == 1


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["data", "convert", "--help"])
    text = capsys.readouterr().out
    assert re.search(r"fgvad data convert ucf_normal_videos_1_240_finally.json --out", text)
