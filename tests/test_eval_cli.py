"""`fgvad eval --scores` end to end through the CLI front, on the real ground truth."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fgvad.cli import main
from fgvad.data.annotations import load_test_annotation
from fgvad.eval.gt import build_ground_truth, load_ground_truth, resolve_frame_counts
from fgvad.core.datasets import UCF_CRIME

# A subset of the official annotation keeps the test fast; the format is the official one.
SUBSET = 24


@pytest.fixture(scope="module")
def subset_annotation(tmp_path_factory):
    lines = [ln for ln in UCF_CRIME.test_annotation.read_text().splitlines() if ln]
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


# --------------------------------------------------------------------------- with a checkpoint

TINY_ANNOTATION = """\
Abuse028_x264.mp4  Abuse  10  40  -1  -1  
Explosion001_x264.mp4  Explosion  20  50  -1  -1  
Normal_Videos_003_x264.mp4  Normal  -1  -1  -1  -1  
"""
TINY_FRAMES = {"Abuse028_x264": 50, "Explosion001_x264": 64, "Normal_Videos_003_x264": 45}


@pytest.fixture(scope="module")
def tiny_test_set(tmp_path_factory):
    from helpers_video import make_indexed_video

    root = tmp_path_factory.mktemp("ucf")
    ann = root / "annotation.txt"
    ann.write_text(TINY_ANNOTATION)
    videos = root / "videos"
    # Explosion001 sits in an unexpected folder: found by name below the root.
    for rel, name in [("Abuse", "Abuse028_x264"), ("elsewhere/deeper", "Explosion001_x264"),
                      ("Testing_Normal_Videos_Anomaly", "Normal_Videos_003_x264")]:
        (videos / rel).mkdir(parents=True)
        make_indexed_video(videos / rel / f"{name}.mp4", TINY_FRAMES[name])
    return ann, videos


def test_eval_checkpoint_beside_baseline(tmp_path, tiny_test_set, capsys):
    from helpers_eval import build_tiny_checkpoints

    ann, videos = tiny_test_set
    trained, base = build_tiny_checkpoints(tmp_path / "ckpt", trained_on=["Abuse001_x264"])
    out = tmp_path / "eval"
    rc = main(["eval", "--checkpoint", str(trained), "--baseline", str(base), "--video-root", str(videos),
               "--test-annotation", str(ann), "--gt-mode", "floor16", "--num-workers", "1", "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert "| metric | checkpoint | baseline (zero-shot) | delta |" in capsys.readouterr().out
    m = json.loads((out / "metrics.json").read_text())
    b = json.loads((out / "baseline" / "metrics.json").read_text())
    assert m["score_kind"] == "mil" and b["score_kind"] == "prompt"
    assert m["n_videos"] == 3 and m["n_frames"] == 48 + 64 + 32 and m["gt_mode"] == "floor16"
    assert m["baseline"]["auc"] == b["auc"]
    gt = load_ground_truth(out / "gt.npz")
    assert {n: len(v) for n, v in gt.items()} == {"Abuse028_x264": 48, "Explosion001_x264": 64,
                                                  "Normal_Videos_003_x264": 32}
    for folder in (out, out / "baseline"):
        for name, labels in gt.items():
            assert np.load(folder / "scores" / f"{name}.npy").shape == labels.shape
    meta = json.loads((out / "eval_meta.json").read_text())
    assert {v["name"]: v["n_frames"] for v in meta["videos"]} == TINY_FRAMES
    assert meta["checkpoint"] == str(trained) and meta["stride"] == 16
    assert meta["paths"]["Explosion001_x264"].endswith("elsewhere/deeper/Explosion001_x264.mp4")


def test_eval_refuses_a_checkpoint_trained_on_test_videos(tmp_path, tiny_test_set, capsys):
    from helpers_eval import build_tiny_checkpoints

    ann, videos = tiny_test_set
    # the users' spelling of a test normal
    trained, _ = build_tiny_checkpoints(tmp_path / "ckpt", trained_on=["Normal_Videos003_x264", "Arson001_x264"])
    argv = ["eval", "--checkpoint", str(trained), "--video-root", str(videos), "--test-annotation", str(ann),
            "--num-workers", "0", "--out", str(tmp_path / "eval")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "trained on 1 of the 3 test videos" in err and err.rstrip().endswith("Normal_Videos_003_x264")
    assert not (tmp_path / "eval" / "metrics.json").exists()
    assert main(argv + ["--allow-leakage"]) == 0
    meta = json.loads((tmp_path / "eval" / "eval_meta.json").read_text())
    assert meta["leaked_test_videos"] == ["Normal_Videos_003_x264"]


def test_evaluate_is_a_typed_library_call(tmp_path, tiny_test_set):
    """fgvad.eval.evaluate() without the CLI: an EvalResult with the numbers, the table and the files."""
    from helpers_eval import build_tiny_checkpoints

    from fgvad.core.errors import UsageError
    from fgvad.eval import EvalResult, evaluate, load_heatmaps

    ann, videos = tiny_test_set
    trained, base = build_tiny_checkpoints(tmp_path / "ckpt")
    out = tmp_path / "eval"
    result = evaluate(checkpoint=trained, baseline=base, video_root=videos, test_annotation=ann, out=out,
                      stride=8, num_workers=0, heatmap_top_k=1, progress=False)
    assert isinstance(result, EvalResult) and result.out == out
    saved = json.loads(result.metrics_json.read_text())
    assert result.metrics["auc"] == saved["auc"] == result.auc and result.metrics["score_kind"] == "mil"
    assert result.baseline_metrics["auc"] == saved["baseline"]["auc"] == result.baseline_auc
    assert result.baseline_metrics["score_kind"] == "prompt" and result.baseline_out == out / "baseline"
    assert result.table.startswith("| metric | checkpoint | baseline (zero-shot) | delta |")
    assert "Definitions" not in result.table and result.metrics_md.read_text().startswith("# fgvad evaluation\n\n"
                                                                                            + result.table)
    # one map per anomalous video (heatmap_top_k=1), for the model and for the baseline
    assert sorted(p.name for p in result.heatmaps) == ["Abuse028_x264.npz", "Explosion001_x264.npz"]
    assert [p.parent for p in result.baseline_heatmaps] == [out / "baseline" / "heatmaps"] * 2
    maps = load_heatmaps(result.heatmaps[0])  # MIL scores: MIL maps; the zero-shot baseline: prompt maps
    assert maps.frame_indices.size == 1 and maps.kinds == ["mil"] and maps.maps["mil"].shape == (1, 4, 4)
    assert load_heatmaps(result.baseline_heatmaps[0]).kinds == ["prompt"]
    assert json.loads((out / "eval_meta.json").read_text())["stride"] == 8

    # precomputed scores into the same folder: no maps, and the earlier ones are gone
    scores_dir = tmp_path / "s"
    scores_dir.mkdir()
    for name, n in TINY_FRAMES.items():
        np.save(scores_dir / f"{name}.npy", np.linspace(0, 1, n, dtype=np.float32))
    again = evaluate(scores=scores_dir, test_annotation=ann, video_root=videos, out=out, progress=False)
    assert again.heatmaps == [] and not (out / "heatmaps").exists() and again.baseline_metrics is None
    assert again.table.startswith("| metric | s |")
    with pytest.raises(UsageError, match="exactly one of --checkpoint"):
        evaluate(checkpoint=trained, scores=scores_dir, out=out)
    with pytest.raises(UsageError, match="heatmap-top-k"):
        evaluate(checkpoint=trained, video_root=videos, test_annotation=ann, out=out, heatmap_top_k=-1)


def test_eval_help_imports_no_torch():
    """`fgvad eval --help` (and the other eval commands' help) stay fast: torch is not imported."""
    from helpers_cli import help_without_heavy_imports

    text = help_without_heavy_imports([["eval"], ["score"], ["gt"], ["viz"], ["demo"]],
                                      then="import fgvad.eval\nassert callable(fgvad.eval.evaluate)\n")
    assert "--heatmap-top-k" in text
