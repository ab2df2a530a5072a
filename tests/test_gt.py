"""Ground truth modes against the public arrays and the totals in ../shared/datasets/README.md."""

from __future__ import annotations

import numpy as np
import pytest

from fgvad.cli import main
from fgvad.data import annotations
from fgvad.data.annotations import load_test_annotation
from fgvad.core.errors import EvalError
from fgvad.eval.gt import build_ground_truth, frame_labels, gt_length, load_ground_truth, resolve_frame_counts


@pytest.fixture(scope="module")
def ucf(shared_dir):
    counts_file = shared_dir / "datasets" / "ucf_crime" / "test_frame_counts_and_annotation.txt"
    videos = load_test_annotation("ucf-crime")
    counts, _ = resolve_frame_counts(videos, annotation="ucf-crime", frame_counts=str(counts_file))
    return videos, counts, counts_file


def test_i3d_command_reproduces_pel4vad_arrays_exactly(shared_dir, tmp_path, ucf):
    _, _, counts_file = ucf
    out = tmp_path / "gt_i3d.npz"
    assert main(["gt", "--annotation", str(counts_file), "--mode", "i3d", "--out", str(out)]) == 0
    ours = load_ground_truth(out)
    with np.load(shared_dir / "datasets" / "ucf_crime" / "pel4vad_gt_i3d.npz") as ref:
        assert sorted(ours) == sorted(ref.files)
        for name in ref.files:
            assert ours[name].dtype == np.uint8
            np.testing.assert_array_equal(ours[name], ref[name], err_msg=name)


@pytest.mark.parametrize("mode, frames, positives", [
    ("frames", 1_111_808, 84_182), ("floor16", 1_109_824, 84_160), ("i3d", 1_109_680, 84_128)])
def test_totals_match_readme(ucf, mode, frames, positives):
    videos, counts, _ = ucf
    gt = build_ground_truth(videos, counts, mode)
    assert len(gt) == 290
    assert sum(len(v) for v in gt.values()) == frames
    assert sum(int(v.sum()) for v in gt.values()) == positives
    # npz keys are the official names, in the official annotation's order
    assert list(gt) == [tv.name for tv in videos]


def test_intervals_are_zero_based_end_exclusive_and_clipped():
    tv = annotations.TestVideo("Shooting999_x264", "Shooting", [(2, 5), (30, 40)])
    labels = frame_labels(tv, 33, "frames")
    assert labels.tolist() == [0, 0, 1, 1, 1] + [0] * 25 + [1, 1, 1]
    assert len(frame_labels(tv, 33, "floor16")) == 32
    assert gt_length("Assault006_x264", 8096, "i3d") == 8080  # one of the nine I3D exceptions
    assert gt_length("Assault007_x264", 8096, "i3d") == 8096
    assert gt_length("Normal_Videos881_x264", 16 * 10, "i3d") == 16 * 9  # either spelling
    assert not frame_labels(annotations.TestVideo("Normal_Videos_001_x264", "Normal", []), 50).any()


def test_shipped_annotation_works_without_files(tmp_path, capsys):
    out = tmp_path / "gt"
    assert main(["gt", "--annotation", "ucf-crime", "--out", str(out)]) == 0
    gt = load_ground_truth(tmp_path / "gt.npz")
    assert sum(len(v) for v in gt.values()) == 1_111_808
    assert "1,111,808 frames" in capsys.readouterr().out


def test_missing_frame_count_names_the_video():
    with pytest.raises(EvalError, match="Abuse028_x264"):
        build_ground_truth(load_test_annotation("ucf-crime")[:2], {"Abuse030_x264": 100}, "frames")


def test_annotation_without_counts_needs_a_source(tmp_path, capsys):
    ann = tmp_path / "ann.txt"
    ann.write_text("Abuse028_x264.mp4  Abuse  165  240  -1  -1  \n")
    assert main(["gt", "--annotation", str(ann), "--out", str(tmp_path / "g.npz")]) == 2
    assert "--frame-counts" in capsys.readouterr().err


def test_frame_counts_probed_from_videos(tmp_path):
    from helpers_video import make_indexed_video

    ann = tmp_path / "ann.txt"
    ann.write_text("Abuse028_x264.mp4  Abuse  5  20  -1  -1  \nNormal_Videos_003_x264.mp4  Normal  -1  -1  -1  -1  \n")
    make_indexed_video((tmp_path / "v" / "Abuse").mkdir(parents=True) or tmp_path / "v" / "Abuse" / "Abuse028_x264.mp4", 37)
    # a normal video under another folder and the users' spelling: found by name
    make_indexed_video((tmp_path / "v" / "x").mkdir() or tmp_path / "v" / "x" / "Normal_Videos003_x264.mp4", 21)
    out = tmp_path / "gt.npz"
    assert main(["gt", "--annotation", str(ann), "--video-root", str(tmp_path / "v"), "--mode", "floor16",
                 "--out", str(out)]) == 0
    gt = load_ground_truth(out)
    assert {k: len(v) for k, v in gt.items()} == {"Abuse028_x264": 32, "Normal_Videos_003_x264": 16}
    assert int(gt["Abuse028_x264"].sum()) == 15
