"""`fgvad eval --scores` end to end through the CLI front, on the real ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fgvad.cli import main
from fgvad.data.annotations import load_test_annotation
from fgvad.eval.gt import build_ground_truth, load_ground_truth, resolve_frame_counts
from fgvad.resources import UCF_TEMPORAL_ANNOTATION

# A subset of the official annotation keeps the test fast; the format is the official one.
SUBSET = 24


@pytest.fixture(scope="module")
def subset_annotation(tmp_path_factory):
    lines = [ln for ln in UCF_TEMPORAL_ANNOTATION.read_text().splitlines() if ln]
    anomalous = [ln for ln in lines if not ln.startswith("Normal")]
    chosen = anomalous[::len(anomalous) // (SUBSET - 4)][:SUBSET - 4] + [ln for ln in lines if ln.startswith("Normal")][:4]
    path = tmp_path_factory.mktemp("ann") / "test_annotation.txt"
    path.write_text("\n".join(chosen) + "\n")
    return path


def _frame_gt(annotation, mode="frames"):
    videos = load_test_annotation(annotation)
    counts, _ = resolve_frame_counts(videos, annotation=str(annotation), frame_counts="ucf-crime")
    return videos, counts, build_ground_truth(videos, counts, mode)


def test_eval_scores_folder_end_to_end(tmp_path, subset_annotation, capsys):
    videos, counts, gt = _frame_gt(subset_annotation)
    rng = np.random.default_rng(0)
    scores_dir = tmp_path / "method_scores"
    scores_dir.mkdir()
    for tv in videos:
        # the users' spelling of normals must match the official one
        name = tv.name.replace("Normal_Videos_", "Normal_Videos")
        np.save(scores_dir / f"{name}.npy", (0.5 * gt[tv.name] + rng.random(len(gt[tv.name]))).astype(np.float32))
    base_dir = tmp_path / "base_scores"
    base_dir.mkdir()
    for tv in videos:
        np.save(base_dir / f"{tv.name}.npy", rng.random(len(gt[tv.name])).astype(np.float32))

    out = tmp_path / "eval"
    rc = main(["eval", "--scores", str(scores_dir), "--baseline-scores", str(base_dir),
               "--test-annotation", str(subset_annotation), "--frame-counts", "ucf-crime", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| metric | method_scores | base_scores | delta |" in printed

    m = json.loads((out / "metrics.json").read_text())
    y = np.concatenate([gt[tv.name] for tv in videos])
    s = np.concatenate([np.load(scores_dir / f"{tv.name.replace('Normal_Videos_', 'Normal_Videos')}.npy")
                        for tv in videos])
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["n_videos"] == len(videos) and m["n_frames"] == y.size and m["gt_mode"] == "frames"
    assert m["baseline"]["auc"] == json.loads((out / "baseline" / "metrics.json").read_text())["auc"]
    assert set(m) >= {"ap", "ap_trapz", "auc_abnormal", "far_normal", "per_class_auc", "definitions"}
    saved_gt = load_ground_truth(out / "gt.npz")
    assert list(saved_gt) == [tv.name for tv in videos]
    assert all(len(np.load(out / "scores" / f"{n}.npy")) == len(saved_gt[n]) for n in saved_gt)
    meta = json.loads((out / "eval_meta.json").read_text())
    assert meta["gt_mode"] == "frames" and meta["scores_from"] == str(scores_dir)
    assert {v["name"]: v["n_frames"] for v in meta["videos"]} == {tv.name: counts[tv.name] for tv in videos}
    assert "| metric |" in (out / "metrics.md").read_text()


def test_eval_snippet_scores_expand_in_i3d_mode(tmp_path, subset_annotation):
    videos, counts, gt = _frame_gt(subset_annotation, "i3d")
    scores_dir = tmp_path / "snippets"
    scores_dir.mkdir()
    for tv in videos:
        np.save(scores_dir / f"{tv.name}.npy", np.random.default_rng(1).random(-(-counts[tv.name] // 16)))
    out = tmp_path / "eval"
    assert main(["eval", "--scores", str(scores_dir), "--expand", "16", "--gt-mode", "i3d",
                 "--test-annotation", str(subset_annotation), "--frame-counts", "ucf-crime", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["n_frames"] == sum(len(v) for v in gt.values())


def test_eval_wrong_length_or_missing_video_is_an_error_naming_it(tmp_path, subset_annotation, capsys):
    videos, counts, gt = _frame_gt(subset_annotation)
    scores_dir = tmp_path / "s"
    scores_dir.mkdir()
    for tv in videos:
        np.save(scores_dir / f"{tv.name}.npy", np.zeros(len(gt[tv.name])))
    victim = videos[3].name
    np.save(scores_dir / f"{victim}.npy", np.zeros(len(gt[victim]) - 16))  # snippet-truncated, not per frame
    argv = ["eval", "--scores", str(scores_dir), "--test-annotation", str(subset_annotation),
            "--frame-counts", "ucf-crime", "--out", str(tmp_path / "o")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith(f"fgvad: error: {victim}: {len(gt[victim]) - 16} scores but {len(gt[victim])}")
    (scores_dir / f"{victim}.npy").unlink()
    assert main(argv) == 1
    assert f"no scores for 1 of {len(videos)} test videos: {victim}" in capsys.readouterr().err
    assert main(["eval", "--out", str(tmp_path / "o")]) == 2
    assert "exactly one of --checkpoint" in capsys.readouterr().err
