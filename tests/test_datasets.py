"""The dataset registry: every registered spec is complete, its shipped files parse, short names resolve."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fgvad.cli import main as fgvad_main
from fgvad.core.datasets import DATASETS, NORMAL, UCF_CRIME, get_dataset, resolve_shipped
from fgvad.core.errors import UsageError
from fgvad.data.annotations import load_frame_counts, load_test_annotation, load_video_list


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_registered_dataset_is_complete_and_its_files_parse(name: str) -> None:
    spec = get_dataset(name)
    assert spec.name == name and spec.normal_class == NORMAL and spec.classes[0] == NORMAL
    assert spec.anomaly_classes and spec.fps > 0 and spec.gt_modes and spec.headline_metric == "auc"
    if spec.test_annotation is not None:
        videos = load_test_annotation(name)
        assert {v.label for v in videos} <= set(spec.classes)
        assert all(v.intervals for v in videos if v.is_anomaly)
        if spec.frame_counts is not None:
            assert set(load_frame_counts(name)) == {v.name for v in videos}
        if spec.test_list is not None:
            assert {spec.video_key(p) for p in load_video_list(f"{name}-test")} == {spec.video_key(v.name) for v in videos}
    if spec.train_list is not None and spec.test_list is not None:
        train = {spec.video_key(p) for p in load_video_list(f"{name}-train")}
        assert not train & {spec.video_key(p) for p in load_video_list(f"{name}-test")}


def test_ucf_crime_numbers() -> None:
    videos = load_test_annotation("ucf-crime")
    assert len(videos) == 290 and Counter(v.is_anomaly for v in videos) == {True: 140, False: 150}
    assert sum(load_frame_counts("ucf-crime").values()) == 1_111_808
    assert len(load_video_list("ucf-crime-train")) == 1610 and len(load_video_list("ucf-crime-test")) == 290
    assert UCF_CRIME.video_key("Testing_Normal_Videos_Anomaly/Normal_Videos_924_x264.mp4") == "Normal_Videos924_x264"


def test_short_names_and_unknown_datasets(tmp_path: Path) -> None:
    mine = tmp_path / "ucf-crime-test.txt"
    assert resolve_shipped(mine, "video_list") == mine  # a real path is never a short name
    assert resolve_shipped("ucf-crime-test", "video_list") == UCF_CRIME.test_list
    assert resolve_shipped("ucf-crime", "frame_counts") == UCF_CRIME.frame_counts
    assert resolve_shipped("ucf-crime-val", "video_list") == "ucf-crime-val"
    with pytest.raises(UsageError, match=r"unknown dataset 'ucf_crime' \(known: ucf-crime"):
        get_dataset("ucf_crime")


def test_data_split_default_test_list_is_the_shipped_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train = tmp_path / "train.json"
    train.write_text('[{"video": "Abuse/Abuse028_x264.mp4", "global_caption": "a", "region_captions": [], '
                     '"box_infos": []}]')
    assert fgvad_main(["data", "split", str(train), "--check"]) == 1
    assert "test videos found: 1 videos" in capsys.readouterr().out
