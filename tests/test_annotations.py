from __future__ import annotations

import json

import pytest

from fgvad.data.annotations import (
    Box,
    label_from_path,
    load_annotations,
    load_frame_counts,
    load_test_annotation,
    video_key,
)
from fgvad.core.errors import AnnotationError


def test_real_training_json_loads_unchanged(real_train_json):
    entries = load_annotations(real_train_json)
    assert len(entries) == 1559
    assert len({e.key for e in entries}) == 707
    anomalies = [e for e in entries if e.is_anomaly]
    assert len(anomalies) == 232
    assert {e.label for e in anomalies} == {"Abuse", "Burglary", "Explosion", "Fighting"}
    # Keyframes are 1-based in the file and 0-based after loading.
    raw = json.loads(real_train_json.read_text())
    assert entries[0].regions[0].boxes[0].frame == raw[0]["box_infos"][0][0]["frame"] - 1
    assert sum(e.clip is not None for e in entries) == 1306


def test_official_test_annotation_is_shipped():
    videos = load_test_annotation("ucf-crime")
    assert len(videos) == 290
    assert sum(v.is_anomaly for v in videos) == 140
    assert sum(len(v.intervals) == 2 for v in videos) == 16


def test_frame_count_variant(shared_dir):
    path = shared_dir / "datasets" / "ucf_crime" / "test_frame_counts_and_annotation.txt"
    counts = load_frame_counts(path)
    assert len(counts) == 290 and sum(counts.values()) == 1_111_808
    by_name = {v.name: v for v in load_test_annotation(path)}
    official = {v.name: v for v in load_test_annotation("ucf-crime")}
    assert all(by_name[n].intervals == official[n].intervals for n in official)


def test_video_key_joins_both_normal_spellings():
    assert video_key("Testing_Normal_Videos_Anomaly/Normal_Videos_924_x264.mp4") == video_key(
        "UCF/Training_Normal_Videos_Anomaly/Normal_Videos924_x264.mp4")
    assert video_key("Abuse/Abuse028_x264.mp4") == "Abuse028_x264"


@pytest.mark.parametrize("path,label", [
    ("UCF_Crimes/Videos/Abuse/Abuse001_x264.mp4", "Abuse"),
    ("Training_Normal_Videos_Anomaly/Normal_Videos950_x264.mp4", "Normal"),
    ("RoadAccidents021_x264.mp4", "RoadAccidents"),
])
def test_label_from_path(path, label):
    assert label_from_path(path) == label


def test_bad_entry_names_index_and_field(tmp_path):
    bad = [{"video": "a.mp4", "global_caption": "x", "region_captions": ["r"], "box_infos": [[{"frame": 3, "bbox": [0, 0, 1]}]]}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(AnnotationError, match=r"entry 0 \(a.mp4\): field 'box_infos\[0\]\[0\].bbox'"):
        load_annotations(path)


def test_image_format_is_accepted(tmp_path):
    path = tmp_path / "img.json"
    path.write_text(json.dumps([{"f_path": "a.jpg", "caption": "long", "short_caption": "s",
                                 "bbox_info": [{"bbox": [0.1, 0.1, 0.5, 0.5], "long_expr": "a dog"}]}]))
    (entry,) = load_annotations(path)
    assert entry.is_image and entry.regions[0].boxes == [Box(0, (0.1, 0.1, 0.5, 0.5))]
