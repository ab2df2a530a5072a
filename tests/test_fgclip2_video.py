"""FG-CLIP 2 video training end to end (issue 14): a tiny FG-CLIP 2 video model trains on the synthetic
set with half its captions in Chinese (no translation), and `score`, `eval` beside its untouched model
(sigmoid prompt probabilities, NaFlex heatmaps) and `viz` work with it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from fgvad.cli import main
from fgvad.core.text import is_non_english
from fgvad.data.tools.synth import generate_dataset
from fgvad.demo import initial_model_saver
from fgvad.train import train
from helpers_chinese import make_half_chinese
from helpers_train import tiny_run_options

pytestmark = pytest.mark.slow

PATCH, BUDGET = 8, 24  # 96x128 synthetic videos -> 32x48 frames, a 4x6 patch grid (aspect kept)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fgclip2_video")
    synth = root / "synth"
    generate_dataset(synth, train_videos=12, test_videos=4, seed=5, frames=48, progress=False)
    entries = make_half_chinese(synth / "train.json")
    out, initial = root / "model", root / "initial_model"
    options = tiny_run_options(synth, out, model_name_or_path="tiny-fgclip2", max_num_patches=BUDGET,
                               tiny_patch_size=PATCH, tiny_vision_width=32, tiny_vision_heads=2,
                               tiny_vision_layers=1, temporal_heads=2, max_boxes=2, hard_negative_loss_weight=0.0,
                               max_steps=18, learning_rate=2e-3, warmup_steps=0, seed=0, save_strategy="no")
    result = train(options, callbacks=[initial_model_saver(initial)])
    # The untouched model shares the tokenizer built from the training captions.
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (initial / name).write_bytes((out / name).read_bytes())
    return synth, entries, result, out, initial, root


def test_half_chinese_data_checks_clean_for_a_bilingual_model(run, capsys):
    synth, entries, *_ = run
    assert sum(is_non_english(e["global_caption"]) for e in entries) == len(entries) // 2
    check = ["data", "check", str(synth / "train.json"), "--video-root", str(synth / "videos")]
    assert main(check) == 0
    assert "not English: contains CJK letters" in capsys.readouterr().out
    assert main([*check, "--model", "fgclip2"]) == 0
    assert "not English" not in capsys.readouterr().out
    assert main([*check, "--model", "clip"]) == 0
    assert "not English" in capsys.readouterr().out


def test_tiny_fgclip2_video_model_trains_and_its_loss_halves(run):
    _, _, result, out, _, _ = run
    losses = [h["loss"] for h in result.log_history if "loss" in h and "train_loss" not in h]
    first, last = np.mean(losses[:2]), np.mean(losses[-2:])
    assert last <= 0.5 * first, losses
    meta = json.loads((out / "fgvad_video.json").read_text())
    assert meta["head_config"]["max_num_patches"] == BUDGET
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "fgclip2" and config["architectures"] == ["Fgclip2Model"]
    with safe_open(str(out / "model.safetensors"), "pt") as weights:
        assert "logit_bias" in weights.keys()  # the sigmoid loss trained the model's own bias
    component = [h for h in result.log_history if "loss_global" in h]
    assert component and "loss_region" in component[-1]


def test_score_eval_beside_the_untouched_model_and_viz(run, capsys):
    synth, _, _, out, initial, root = run
    video = sorted((synth / "videos").rglob("*.mp4"))[0]
    assert main(["score", str(video), "--checkpoint", str(out), "--out", str(root / "scores"), "--stride", "4",
                 "--num-workers", "0"]) == 0
    scores = np.load(root / "scores" / f"{video.stem}.npy")
    assert scores.size == 48 and np.isfinite(scores).all() and 0 <= scores.min() <= scores.max() <= 1
    capsys.readouterr()

    eval_dir = root / "eval"
    assert main(["eval", "--checkpoint", str(out), "--baseline", str(initial), "--video-root",
                 str(synth / "videos"), "--test-annotation", str(synth / "Temporal_Anomaly_Annotation.txt"),
                 "--stride", "4", "--num-workers", "0", "--out", str(eval_dir)]) == 0
    metrics = json.loads((eval_dir / "metrics.json").read_text())
    assert metrics["score_kind"] == "mil" and metrics["baseline"]["score_kind"] == "prompt"
    assert "sigmoid" in metrics["baseline"]["score_rule"]  # zero-shot FG-CLIP 2 scores are sigmoid probabilities
    assert "sigmoid" in (eval_dir / "metrics.md").read_text()
    meta = json.loads((eval_dir / "eval_meta.json").read_text())
    assert meta["frame_geometry"] == {"kind": "naflex", "patch_size": PATCH, "max_num_patches": BUDGET}
    baseline_meta = json.loads((eval_dir / "baseline" / "eval_meta.json").read_text())
    assert baseline_meta["frame_geometry"] == meta["frame_geometry"]  # the baseline saw the same frames
    # MIL scores get MIL occlusion maps, the zero-shot baseline sigmoid prompt maps; both on the NaFlex grid.
    for folder, kind, says in ((eval_dir, "mil", "MIL score drop"), (eval_dir / "baseline", "prompt", "sigmoid")):
        maps = sorted((folder / "heatmaps").glob("*.npz"))
        assert maps
        with np.load(maps[0], allow_pickle=False) as saved:
            assert list(saved["kinds"]) == [kind]
            heat = saved[f"map_{kind}"]
            assert heat.shape[1:] == (4, 6)  # the NaFlex grid of a 4:3 video, not a square
            assert np.isfinite(heat).all() and 0 <= heat.min() <= heat.max() <= 1
            assert says in str(saved["descriptions"][0])

    assert main(["viz", str(eval_dir)]) == 0
    page = (eval_dir / "report.html").read_text(encoding="utf-8")
    assert "sigmoid" in page and "viz/heatmaps/" in page
