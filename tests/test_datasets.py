"""The dataset registry: every registered spec is complete, its shipped files parse, short names resolve."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from fgvad.cli import main as fgvad_main
from fgvad.core.datasets import (
    DATASETS,
    MSAD,
    MSAD_CLASSES,
    NORMAL,
    UCF_CRIME,
    dataset_for_classes,
    dataset_of,
    get_dataset,
    resolve_shipped,
)
from fgvad.core.errors import UsageError
from fgvad.data.annotations import label_from_path, load_frame_counts, load_test_annotation, load_video_list


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_registered_dataset_is_complete_and_its_files_parse(name: str) -> None:
    spec = get_dataset(name)
    assert spec.name == name and spec.normal_class == NORMAL and spec.classes[0] == NORMAL
    assert spec.anomaly_classes and spec.gt_modes and spec.headline_metric == "auc"
    assert spec.fps is None or spec.fps > 0  # None: not published (MSAD)
    assert spec.owns(load_video_list(f"{name}-test")[0]) if spec.test_list is not None else True
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


def test_msad_test_list_and_names() -> None:
    names = load_video_list("msad-test")
    anomalous = Counter(label_from_path(p) for p in names if not p.startswith("MSAD_normal"))
    assert len(names) == 240 and sum(anomalous.values()) == 120 and set(anomalous) == set(MSAD_CLASSES)
    assert anomalous["People_falling"] == 22 and anomalous["Water_incident"] == 5
    assert all(dataset_of(p) is MSAD for p in names)
    assert dataset_of("/data/local-files/?d=MSAD/MSAD_Videos/MSAD_anomaly_videos/Fire/Fire_2.mp4") is MSAD
    assert dataset_of("Abuse/Abuse001_x264.mp4") is UCF_CRIME and dataset_of("clip_7.mp4") is None
    assert MSAD.video_key("MSAD-I3D-abnormal-testing/Assault_2_i3d.npy") == "Assault_2"
    assert dataset_for_classes(["Normal", "Abuse"]) is UCF_CRIME
    assert dataset_for_classes(["People_falling", "Fire"]) is MSAD and dataset_for_classes(["Zebra"]) is None
    with pytest.raises(UsageError, match="fgvad ships no train list for msad"):
        resolve_shipped("msad-train", "video_list")


def test_short_names_and_unknown_datasets(tmp_path: Path) -> None:
    mine = tmp_path / "ucf-crime-test.txt"
    assert resolve_shipped(mine, "video_list") == mine  # a real path is never a short name
    assert resolve_shipped("ucf-crime-test", "video_list") == UCF_CRIME.test_list
    assert resolve_shipped("ucf-crime", "frame_counts") == UCF_CRIME.frame_counts
    assert resolve_shipped("ucf-crime-val", "video_list") == "ucf-crime-val"
    with pytest.raises(UsageError, match=r"unknown dataset 'ucf_crime' \(known: ucf-crime, msad"):
        get_dataset("ucf_crime")


def test_data_split_default_test_list_is_the_shipped_one(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train = tmp_path / "train.json"
    train.write_text('[{"video": "Abuse/Abuse028_x264.mp4", "global_caption": "a", "region_captions": [], '
                     '"box_infos": []}]')
    assert fgvad_main(["data", "split", str(train), "--check"]) == 1
    assert "test videos found: 1 videos" in capsys.readouterr().out


def test_prompt_set_follows_the_test_sets_classes() -> None:
    from fgvad.core.prompts import default_prompt_set
    from fgvad.data.annotations import TestVideo
    from fgvad.eval.evaluation import dataset_prompt_set

    def videos(*labels: str) -> list[TestVideo]:
        return [TestVideo(f"{label}_{i}", label, [] if label == "Normal" else [(0, 1)]) for i, label in enumerate(labels)]

    assert dataset_prompt_set("ucf-crime", []) == default_prompt_set()
    msad = dataset_prompt_set("test.txt", videos("Normal", "People_falling", "Fire"))
    assert msad.anomaly_classes == ("Fire", "People_falling")
    assert "a surveillance video of people falling" in msad.texts
