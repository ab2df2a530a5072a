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
    SHANGHAITECH,
    UCF_CRIME,
    XD_VIOLENCE,
    dataset_for_classes,
    dataset_of,
    get_dataset,
    media_stem,
    resolve_shipped,
    xd_violence_labels,
)
from fgvad.core.errors import UsageError
from fgvad.data.annotations import label_from_path, load_frame_counts, load_test_annotation, load_video_list


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_every_registered_dataset_is_complete_and_its_files_parse(name: str) -> None:
    spec = get_dataset(name)
    assert spec.name == name and spec.normal_class == NORMAL and spec.classes[0] == NORMAL
    assert spec.anomaly_classes and "frames" in spec.gt_modes and spec.headline_metric in ("auc", "ap")
    assert spec.fps is None or spec.fps > 0  # None: not published (MSAD)
    assert spec.owns(load_video_list(f"{name}-test")[0]) if spec.test_list is not None else True
    if spec.test_annotation is not None:
        videos = load_test_annotation(name)
        assert {c for v in videos for c in v.classes} <= set(spec.classes)
        assert all(v.dataset == name for v in videos)
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


def test_xd_violence_entry():
    videos = load_test_annotation("xd-violence")
    assert len(videos) == 800 and Counter(v.is_anomaly for v in videos) == {True: 500, False: 300}
    assert XD_VIOLENCE.headline_metric == "ap" and XD_VIOLENCE.fps == 24.0
    # the official order: violent videos sorted by name, then the label_A normals sorted
    assert [v.name for v in videos[:500]] == sorted(v.name for v in videos[:500])
    assert all(v.name.endswith("label_A") for v in videos[500:])
    assert sum(len(v.intervals) for v in videos) == 1238
    first = Counter(v.label for v in videos if v.is_anomaly)
    assert first == {"Fighting": 120, "Riot": 101, "CarAccident": 96, "Explosion": 91, "Shooting": 84, "Abuse": 8}
    bad_boys = videos[0]
    assert bad_boys.name == "Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6"
    assert bad_boys.classes == ("Explosion", "Shooting", "CarAccident")
    assert xd_violence_labels("v=38GQ9L2meyE__#1_label_B6-0-0") == ("CarAccident",)
    assert xd_violence_labels("wangted.2008__#0-27-17_0-28-07_label_A.mp4") == (NORMAL,)
    # names with dots keep them; extensions, folders and the feature crop suffix go
    assert XD_VIOLENCE.video_key("/feats/Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6__3.npy") == bad_boys.name
    assert media_stem("x/Bad.Boys.1995__#01.mp4") == "Bad.Boys.1995__#01"
    with pytest.raises(UsageError, match="unknown XD-Violence label code 'B3'"):
        xd_violence_labels("clip_label_B3")


def test_shanghaitech_entry():
    videos = load_test_annotation("shanghaitech")
    assert len(videos) == 199 and Counter(v.is_anomaly for v in videos) == {True: 44, False: 155}
    assert [v.name for v in videos[:44]] == sorted(v.name for v in videos[:44])  # gt-sh.npy's order
    assert sum(v.n_frames for v in videos if v.is_anomaly) == 17_472  # official mask lengths
    assert sum(e - s for v in videos for s, e in v.intervals) == 7_962
    assert len(load_video_list("shanghaitech-train")) == 238
    assert SHANGHAITECH.video_key("SH_Test_ten_crop_i3d/01_0015_i3d.npy") == "01_0015"
    assert SHANGHAITECH.pad_last_label and not XD_VIOLENCE.pad_last_label


def test_xd_annotation_naming_an_unknown_video_is_an_error(tmp_path: Path):
    from fgvad.core.errors import AnnotationError

    ann = tmp_path / "xd.txt"
    ann.write_text("not.a.test.video_label_B1-0-0 0 10\n")
    with pytest.raises(AnnotationError, match="not in the xd-violence test list"):
        load_test_annotation(ann, "xd-violence")


def test_data_split_reads_the_dataset_test_list(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    train = tmp_path / "xd_train.json"
    train.write_text('[{"video": "videos/Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6.mp4", '
                     '"global_caption": "a", "region_captions": [], "box_infos": []}, '
                     '{"video": "videos/Bad.Boys.1995__#00-26-51_00-27-53_label_B2-0-0.mp4", '
                     '"global_caption": "b", "region_captions": [], "box_infos": []}]')
    assert fgvad_main(["data", "split", str(train), "--dataset", "xd-violence", "--check"]) == 1
    out = capsys.readouterr().out
    assert "test list has 800 videos" in out and "test videos found: 1 videos" in out
    assert fgvad_main(["data", "split", str(train), "--dataset", "ucf-crime", "--check"]) == 0  # not UCF-Crime's
    capsys.readouterr()
    assert fgvad_main(["data", "split", str(train), "--check"]) == 1  # the default: every dataset's test list
    assert "xd-violence 1" in capsys.readouterr().out
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
