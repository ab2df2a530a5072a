"""Metrics equal sklearn computed directly on the same concatenated arrays of the real ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_auc_score

from fgvad.data.annotations import load_test_annotation
from fgvad.core.errors import EvalError
from fgvad.eval.gt import build_ground_truth, resolve_frame_counts
from fgvad.eval.metrics import (DEFINITIONS, align_scores, compute_metrics, expand_snippet_scores, metrics_table,
                                write_metrics)


@pytest.fixture(scope="module")
def real_gt():
    videos = load_test_annotation("ucf-crime")
    counts, _ = resolve_frame_counts(videos, annotation="ucf-crime", frame_counts="ucf-crime")
    gt = build_ground_truth(videos, counts, "i3d")
    return videos, gt, {tv.name: tv.label for tv in videos}


def _random_scores(gt, seed):
    rng = np.random.default_rng(seed)
    # Scores correlated with the labels, so the numbers are not all ~0.5.
    return {name: (0.6 * labels + rng.random(len(labels))).astype(np.float32) / 1.6 for name, labels in gt.items()}


def test_metrics_equal_sklearn_on_real_ground_truth(real_gt):
    videos, gt, classes = real_gt
    scores = _random_scores(gt, 0)
    m = compute_metrics(scores, gt, classes, gt_mode="i3d")

    y = np.concatenate(list(gt.values()))
    s = np.concatenate([scores[n] for n in gt])
    assert m["n_frames"] == y.size == 1_109_680 and m["n_videos"] == 290
    assert m["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert m["ap"] == pytest.approx(average_precision_score(y, s), abs=1e-12)
    p, r, _ = precision_recall_curve(y, s)
    assert m["ap_trapz"] == pytest.approx(auc(r, p), abs=1e-12)

    abnormal = [tv.name for tv in videos if tv.is_anomaly]
    normal = [tv.name for tv in videos if not tv.is_anomaly]
    ya = np.concatenate([gt[n] for n in abnormal])
    sa = np.concatenate([scores[n] for n in abnormal])
    assert m["auc_abnormal"] == pytest.approx(roc_auc_score(ya, sa), abs=1e-12)
    sn = np.concatenate([scores[n] for n in normal])
    assert m["far_normal"] == pytest.approx(np.mean(sn >= 0.5))

    assert len(m["per_class_auc"]) == 13
    shooting = [tv.name for tv in videos if tv.label == "Shooting"] + normal
    ys = np.concatenate([gt[n] for n in shooting])
    ss = np.concatenate([scores[n] for n in shooting])
    assert m["per_class_auc"]["Shooting"] == pytest.approx(roc_auc_score(ys, ss), abs=1e-12)
    assert "per_class_auc" in m["definitions"]
    few = {n: gt[n] for n in list(gt)[:20] + normal[:5]}
    few_normal = np.concatenate([scores[n] for n in normal[:5]])
    assert compute_metrics(scores, few, classes, gt_mode="i3d", threshold=0.3)["far_normal"] == pytest.approx(
        np.mean(few_normal >= 0.3))


def test_length_mismatch_names_the_video(real_gt):
    _, gt, classes = real_gt
    scores = {n: np.zeros(len(v), np.float32) for n, v in gt.items()}
    scores["Explosion033_x264"] = np.zeros(len(gt["Explosion033_x264"]) + 2, np.float32)
    with pytest.raises(EvalError, match=r"^Explosion033_x264: \d+ scores but \d+ ground-truth frames \(i3d mode\)"):
        compute_metrics(scores, gt, classes, gt_mode="i3d")
    del scores["Explosion033_x264"]
    with pytest.raises(EvalError, match="no scores for 1 of 290 test videos: Explosion033_x264"):
        compute_metrics(scores, gt, classes, gt_mode="i3d")


def test_scores_match_either_spelling_and_snippets_expand(real_gt):
    _, gt, _ = real_gt
    name = "Normal_Videos_924_x264"
    one = {name: gt[name]}
    aligned = align_scores({"Normal_Videos924_x264": np.ones(len(gt[name]))}, one)
    assert list(aligned) == [name]
    frames = expand_snippet_scores(np.arange(3, dtype=np.float32), 40)  # ceil(40/16) snippets
    assert frames.tolist() == [0] * 16 + [1] * 16 + [2] * 8
    frames = expand_snippet_scores(np.arange(2, dtype=np.float32), 40)  # floor(40/16): last score carried
    assert frames.tolist() == [0] * 16 + [1] * 24
    with pytest.raises(EvalError, match="vid: 5 snippet scores"):
        expand_snippet_scores(np.zeros(5), 40, name="vid")
    with pytest.raises(EvalError, match="NaN"):
        align_scores({name: np.full(len(gt[name]), np.nan)}, one)


def test_report_files(tmp_path, real_gt):
    _, full_gt, classes = real_gt
    gt = {n: full_gt[n] for n in list(full_gt)[::10]}  # a subset keeps this fast
    m = compute_metrics(_random_scores(gt, 1), gt, classes, gt_mode="i3d")
    b = compute_metrics(_random_scores(gt, 2), gt, classes, gt_mode="i3d")
    markdown = write_metrics(tmp_path, m, b)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["auc"] == m["auc"] and saved["baseline"]["auc"] == b["auc"]
    # the table (what `fgvad eval` prints), then the definitions; no one has to split the file
    table = metrics_table(m, b)
    assert table.startswith("| metric | checkpoint | baseline | delta |") and "Definitions" not in table
    assert markdown.startswith(table + "\n\nDefinitions:\n") and all(f"`{k}`" in markdown for k in DEFINITIONS)
    assert f"{m['auc'] - b['auc']:+.4f}" in (tmp_path / "metrics.md").read_text()
