"""`fgvad viz` on a real eval folder: tiny real checkpoints, real mp4 files, real `fgvad eval` output
(scores and the heatmaps evaluation saves), drawn without a model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers_video import moving_square_frames

from fgvad.cli import main

ANNOTATION = """\
Abuse028_x264.mp4  Abuse  16  40  -1  -1  
Explosion001_x264.mp4  Explosion  20  50  -1  -1  
Normal_Videos_003_x264.mp4  Normal  -1  -1  -1  -1  
"""
FRAMES = {"Abuse028_x264": 50, "Explosion001_x264": 64, "Normal_Videos_003_x264": 45}
FOLDERS = {"Abuse028_x264": "Abuse", "Explosion001_x264": "Explosion",
           "Normal_Videos_003_x264": "Testing_Normal_Videos_Anomaly"}


@pytest.fixture(scope="module")
def eval_folder(tmp_path_factory):
    """Checkpoint evaluated beside its baseline, as `fgvad eval` writes it."""
    from helpers_eval import build_tiny_checkpoints

    from fgvad.data.video import write_video

    root = tmp_path_factory.mktemp("viz")
    (root / "annotation.txt").write_text(ANNOTATION)
    for k, (name, n) in enumerate(FRAMES.items()):
        (root / "videos" / FOLDERS[name]).mkdir(parents=True, exist_ok=True)
        write_video(root / "videos" / FOLDERS[name] / f"{name}.mp4", moving_square_frames(n, k))
    trained, base = build_tiny_checkpoints(root / "ckpt")
    out = root / "eval"
    assert main(["eval", "--checkpoint", str(trained), "--baseline", str(base), "--video-root", str(root / "videos"),
                 "--test-annotation", str(root / "annotation.txt"), "--num-workers", "0", "--out", str(out)]) == 0
    return out, trained, root


def _png_ok(path: Path) -> None:
    from matplotlib.image import imread

    image = imread(path)
    assert image.ndim == 3 and image.shape[0] >= 200 and image.shape[1] >= 400, (path, image.shape)
    assert float(image[..., :3].std()) > 0.05, f"{path} is nearly a single colour"


def test_viz_draws_curves_heatmaps_and_an_offline_report(eval_folder, capsys):
    out, _, _ = eval_folder
    assert main(["viz", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "wrote 3 score curves and 4 heatmaps" in printed and str(out / "report.html") in printed

    curves = sorted((out / "viz" / "curves").glob("*.png"))
    assert [p.stem for p in curves] == sorted(FRAMES)
    heatmaps = sorted((out / "viz" / "heatmaps").glob("*.png"))
    # top-2 frames of each anomalous video, none of the normal one; the file names the map kind: the
    # checkpoint's scores are MIL scores, so its maps are MIL maps
    assert sorted({re.sub(r"_f\d+_mil$", "", p.stem) for p in heatmaps}) == ["Abuse028_x264", "Explosion001_x264"]
    assert len(heatmaps) == 4
    for png in curves + heatmaps:
        _png_ok(png)

    page = (out / "report.html").read_text(encoding="utf-8")
    linked = re.findall(r"<img src='([^']+)'", page)
    assert sorted(linked) == sorted(p.relative_to(out).as_posix() for p in curves + heatmaps)
    assert "http" not in page.replace("http-equiv", "")  # nothing fetched from the network
    metrics = json.loads((out / "metrics.json").read_text())
    assert f"{metrics['auc']:.4f}" in page and f"{metrics['baseline']['auc']:.4f}" in page
    assert "baseline (untouched)" in page and "Anomalous videos (2)" in page and "Normal videos (1)" in page
    # the report names the kind it shows, in the legend and beside each video's maps
    assert "<code>mil</code> map = MIL score drop of the frame when the patch is greyed out" in page
    assert page.count("maps shown: <code>mil</code>") == 2
    # rerunning replaces the images instead of piling them up
    assert main(["viz", str(out), "--top-k", "1"]) == 0
    assert len(list((out / "viz" / "heatmaps").glob("*.png"))) == 2
    # more than evaluation saved: what there is, and a note saying how to get more
    assert main(["viz", str(out), "--top-k", "3"]) == 0
    captured = capsys.readouterr()
    assert "4 heatmaps" in captured.out and "--heatmap-top-k 3" in captured.err


def test_top_scored_frames_are_distinct_snippet_centres():
    from fgvad.eval.heatmaps import top_scored_frames

    scores = np.repeat(np.array([0.1, 0.9, 0.3, 0.9, 0.2], np.float32), 16)[:77]
    assert top_scored_frames(scores, 2) == [24, 56]  # ties: earlier first; one frame per snippet
    assert top_scored_frames(scores, 3) == [24, 56, 40]
    assert top_scored_frames(scores, 10) == [24, 56, 40, 70, 8]
    assert top_scored_frames(scores, 0) == [] and top_scored_frames(np.zeros(0), 2) == []


def test_patch_map_is_the_prompt_score_of_each_patch(eval_folder):
    """A patch's heat is 1 - P(normal prompt) of its dense feature among the scorer's prompts."""
    from fgvad.eval.heatmaps import patch_anomaly_maps
    from fgvad.eval.score import load_scorer
    from fgvad.models.video import frames_to_pixels

    _, trained, _ = eval_folder
    scorer = load_scorer(trained, kind="prompt")
    assert scorer.prompt_embeds.shape[0] == 14  # the normal prompt + 13 UCF classes, as in scoring
    frames = torch.from_numpy(moving_square_frames(2, 7, 32, 32))
    pixels = frames_to_pixels(frames, scorer.image_size)
    maps = patch_anomaly_maps(scorer.model, pixels, scorer.prompt_embeds)
    assert maps.shape == (2, 4, 4) and maps.dtype == np.float32
    assert ((maps >= 0) & (maps <= 1)).all() and maps.std() > 0
    clip = scorer.model.clip
    with torch.no_grad():
        patches = torch.nn.functional.normalize(clip.get_dense_features(pixels), dim=-1)
        prompts = torch.nn.functional.normalize(scorer.prompt_embeds, dim=-1)
        probs = (clip.logit_scale.exp() * patches @ prompts.T).softmax(dim=-1)
    np.testing.assert_allclose(maps, (1 - probs[..., 0]).reshape(2, 4, 4).numpy(), rtol=1e-5, atol=1e-6)


def test_evaluation_saves_the_maps_viz_draws(eval_folder):
    """heatmaps/<video>.npz: the top-2 snippet centres by the saved scores, native frames, maps of the
    kind that explains the score (MIL for the checkpoint, prompt maps equal to the model's at those
    frames for the zero-shot baseline)."""
    from fgvad.data.video import decode_frames
    from fgvad.eval.folder import load_heatmaps
    from fgvad.eval.heatmaps import patch_anomaly_maps, top_scored_frames
    from fgvad.eval.score import load_scorer
    from fgvad.models.video import frames_to_pixels

    out, trained, root = eval_folder
    assert sorted(p.stem for p in (out / "heatmaps").glob("*.npz")) == ["Abuse028_x264", "Explosion001_x264"]
    assert sorted(p.stem for p in (out / "baseline" / "heatmaps").glob("*.npz")) == ["Abuse028_x264",
                                                                                      "Explosion001_x264"]
    meta = json.loads((out / "eval_meta.json").read_text())
    assert meta["heatmaps"] == {"top_k": 2, "kinds": ["mil"], "videos": 2}
    assert json.loads((out / "baseline" / "eval_meta.json").read_text())["heatmaps"]["kinds"] == ["prompt"]
    name = "Explosion001_x264"
    assert load_heatmaps(out / "heatmaps" / f"{name}.npz").kinds == ["mil"]
    saved = load_heatmaps(out / "baseline" / "heatmaps" / f"{name}.npz")
    scores = np.load(out / "baseline" / "scores" / f"{name}.npy")
    assert saved.video == name and saved.kinds == ["prompt"]
    assert saved.frame_indices.tolist() == top_scored_frames(scores, 2, meta["stride"])
    np.testing.assert_array_equal(saved.scores, scores[saved.frame_indices])
    video = root / "videos" / FOLDERS[name] / f"{name}.mp4"
    assert saved.frames.shape == (2, 48, 64, 3) and saved.frames.dtype == np.uint8  # native resolution
    np.testing.assert_array_equal(saved.frames, decode_frames(video, saved.frame_indices, None))
    # the baseline was scored with the prompts the evaluation recorded: fgvad's defaults over the
    # test annotation's classes (the checkpoint stored none)
    from fgvad.core.prompts import PromptSet, default_prompt_set

    used = json.loads((out / "baseline" / "eval_meta.json").read_text())["prompts"]
    assert used.pop("source") == "evaluated checkpoint"
    assert PromptSet.from_dict(used) == default_prompt_set(["Abuse", "Explosion"])
    scorer = load_scorer(root / "ckpt" / "untouched", kind="prompt", prompts=PromptSet.from_dict(used))
    pixels = frames_to_pixels(decode_frames(video, saved.frame_indices, scorer.image_size), scorer.image_size)
    np.testing.assert_allclose(saved.maps["prompt"], patch_anomaly_maps(scorer.model, pixels, scorer.prompt_embeds),
                               rtol=1e-5, atol=1e-6)
    assert "P(normal prompt)" in saved.descriptions["prompt"]


def test_viz_needs_neither_torch_nor_a_model(eval_folder, tmp_path):
    """The report is drawn from the eval folder's files alone, in a process that never imports torch."""
    out, _, _ = eval_folder
    copy = tmp_path / "eval_copy"
    shutil.copytree(out, copy)  # the checkpoint and the videos are not beside it
    code = ("import sys\n"
            "import fgvad.viz.report\n"
            "assert 'torch' not in sys.modules and 'fgvad.models' not in sys.modules, 'import'\n"
            f"result = fgvad.viz.report.build_report({str(copy)!r}, progress=False)\n"
            "assert len(result.heatmaps) == 4, result.heatmaps\n"
            "bad = [m for m in ('torch', 'fgvad.models', 'fgvad.eval.score', 'fgvad.eval.heatmaps') if m in sys.modules]\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_viz_of_precomputed_scores_draws_curves_and_says_why_no_heatmaps(eval_folder, tmp_path, capsys):
    out, _, root = eval_folder
    scores = tmp_path / "method_scores"
    scores.mkdir()
    for name, n in FRAMES.items():
        np.save(scores / f"{name}.npy", np.linspace(0, 1, n, dtype=np.float32))
    counts = tmp_path / "counts.txt"
    counts.write_text("".join(f"{FOLDERS[n]}/{n}.mp4 {k} {FOLDERS[n].split('_')[0]} -1 -1 -1 -1\n"
                              for n, k in FRAMES.items()))
    pre = tmp_path / "eval_pre"
    assert main(["eval", "--scores", str(scores), "--frame-counts", str(counts),
                 "--test-annotation", str(root / "annotation.txt"), "--out", str(pre)]) == 0
    assert not (pre / "heatmaps").exists()
    capsys.readouterr()
    assert main(["viz", str(pre)]) == 0
    captured = capsys.readouterr()
    assert "wrote 3 score curves and 0 heatmaps" in captured.out
    assert "precomputed scores: no heatmaps" in captured.err
    assert "precomputed scores: no heatmaps" in (pre / "report.html").read_text(encoding="utf-8")
    # the options that drove the old heatmap model are accepted, each with a one-line note
    _, trained, _ = eval_folder
    assert main(["viz", str(pre), "--checkpoint", str(trained), "--device", "cpu",
                 "--video-root", str(root / "videos"), "--top-k", "1"]) == 0
    captured = capsys.readouterr()
    assert "wrote 3 score curves and 0 heatmaps" in captured.out
    for flag in ("--checkpoint", "--device", "--video-root"):
        assert f"fgvad: note: {flag} is not needed: heatmaps now come from `fgvad eval`" in captured.err


def test_viz_of_a_folder_that_is_not_an_eval_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["viz", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("fgvad: error:") and "metrics.json: not found" in err and "\n" not in err
    assert main(["viz", str(tmp_path / "missing")]) == 2
    assert "missing: folder not found" in capsys.readouterr().err
