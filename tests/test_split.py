from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from fgvad.cli import main
from fgvad.data.annotations import load_annotations
from fgvad.data.tools.split import load_test_keys, read_json_list_text, split_entries
from helpers_check import check_errors_besides_missing_videos


def test_real_training_file_loses_exactly_the_140_test_videos(real_train_json, tmp_path, capsys):
    out = tmp_path / "train_no_test.json"
    assert main(["data", "split", str(real_train_json), "--out", str(out)]) == 0
    summary = capsys.readouterr().out
    assert "140 videos, 314 entries" in summary
    assert "Normal 99, Explosion 21, Burglary 13, Fighting 5, Abuse 2" in summary

    original = json.loads(real_train_json.read_text(encoding="utf-8"))
    kept = json.loads(out.read_text(encoding="utf-8"))
    test_keys = load_test_keys()
    result = split_entries(original, test_keys)
    assert len(result.removed_videos) == 140 and len(result.removed) == 314
    assert result.removed_videos_by_class() == Counter(
        {"Normal": 99, "Explosion": 21, "Burglary": 13, "Fighting": 5, "Abuse": 2})
    assert result.removed_entries_by_class["Normal"] == 273
    assert len(kept) == 1245 and len({e.key for e in load_annotations(out)}) == 567
    assert not {e.key for e in load_annotations(out)} & test_keys
    # Kept entries are the original ones, in order, and the file keeps the user's layout.
    assert kept == [original[i] for i in result.kept]
    assert out.read_text(encoding="utf-8") == json.dumps(kept, indent=2, ensure_ascii=False)

    # `fgvad data check` finds nothing in the output that it does not find in the input.
    root = tmp_path / "videos"
    root.mkdir()
    def problems(path):  # entry numbers shift when entries are removed
        return {(p["video"], p["field"], re.sub(r"entry \d+", "entry N", p["message"]))
                for p in check_errors_besides_missing_videos(path, root, capsys)}
    assert problems(out) <= problems(real_train_json)

    assert main(["data", "split", str(real_train_json), "--check"]) == 1
    assert main(["data", "split", str(out), "--check"]) == 0
    assert "no test videos found" in capsys.readouterr().out


HAND_FORMATTED = """\ufeff[ {"video": "Testing_Normal_Videos_Anomaly/Normal_Videos_924_x264.mp4",
     "global_caption": "n", "region_captions": ["r"], "box_infos": [[]], "timestamps": [0.0, 1.5]},

 {"video":"Abuse/Abuse001_x264.mp4","global_caption":"\\u4e00 man","region_captions":["a"],
  "box_infos":[[{"frame": 3, "bbox": [0.10, 0.2, 0.5, 1.0]}]],"timestamps":null, "extra": 1E2},
 {"video": "x/Normal_Videos924_x264.mp4", "global_caption": "dup spelling", "region_captions": [], "box_infos": []},
 {"f_path": "img/1.jpg", "caption": "an image"}
]
"""


def test_kept_entries_are_copied_byte_for_byte(tmp_path, capsys):
    src = tmp_path / "hand.json"
    src.write_bytes(HAND_FORMATTED.encode("utf-8"))
    out = tmp_path / "out.json"
    assert main(["data", "split", str(src), "--out", str(out)]) == 0
    assert "1 videos, 2 entries" in capsys.readouterr().out  # both spellings of Normal_Videos 924
    text = out.read_bytes().decode("utf-8")
    listing = read_json_list_text(src)
    for i in (1, 3):
        assert HAND_FORMATTED[1:][slice(*listing.spans[i])] in text
    assert text.startswith("\ufeff[ ") and text.endswith("}\n]\n")
    assert [json.loads(text[1:])[k] for k in (0, 1)] == [listing.values[1], listing.values[3]]
    spans = [HAND_FORMATTED[1:][slice(*listing.spans[i])] for i in (1, 3)]
    assert text == "\ufeff[ " + spans[0] + ",\n\n " + spans[1] + "\n]\n"


def test_custom_test_list_takes_first_column(tmp_path, capsys):
    src = tmp_path / "t.json"
    src.write_text(json.dumps([
        {"video": "Abuse/Abuse001_x264.mp4", "global_caption": "a", "region_captions": [], "box_infos": []},
        {"video": "Abuse/Abuse002_x264.mp4", "global_caption": "b", "region_captions": [], "box_infos": []},
    ]))
    test_list = tmp_path / "test.txt"
    test_list.write_text("Abuse002_x264.mp4  Abuse  10  20  -1  -1\n")
    out = tmp_path / "out.json"
    assert main(["data", "split", str(src), "--test-list", str(test_list), "--out", str(out)]) == 0
    assert [e["video"] for e in json.loads(out.read_text())] == ["Abuse/Abuse001_x264.mp4"]
    # All removed: still a valid (empty) list.
    test_list.write_text("Abuse001_x264\nAbuse002_x264\n")
    assert main(["data", "split", str(src), "--test-list", str(test_list), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == []


@pytest.mark.parametrize("content,message", [
    ('{"video": "a.mp4"}', "top level must be a list"),
    ('[{"video": "a.mp4", "global_caption": "x"},', "invalid JSON"),
    ('[{"global_caption": "x"}]', "entry 0: field 'video'"),
])
def test_bad_input_gives_one_line(tmp_path, capsys, content, message):
    # --strict: a malformed entry refuses the file too (without it, it is carried through: test_user_files.py)
    src = tmp_path / "bad.json"
    src.write_text(content)
    assert main(["data", "split", str(src), "--check", "--strict"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fgvad: error: ") and message in err and err.count("\n") == 1


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "split", "--help"])
    assert exc.value.code == 0
    assert "fgvad data split ucf_fgclip_train_with_timestamps_en.json --out" in capsys.readouterr().out
