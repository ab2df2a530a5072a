"""Frozen features end to end on a tiny synthetic set: extract (resumable) -> train heads -> eval/compare.

Real parts throughout: mp4 files the synthetic writer renders, a tiny FG-CLIP checkpoint as the
backbone, the HF Trainer, the scorer decoding the test videos and running backbone -> heads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fgvad.cli import main
from fgvad.core.errors import CheckpointError, ConfigError, FeatureError
from fgvad.data.features import open_features

SNIPPET = 4  # the synthetic videos have 48 frames: 12 snippets each


@pytest.fixture(scope="module")
def synth_and_backbone(tmp_path_factory):
    from helpers_eval import build_tiny_checkpoints

    from fgvad.data.tools.synth import generate_dataset

    root = tmp_path_factory.mktemp("features")
    synth = generate_dataset(root / "synth", train_videos=8, test_videos=4, seed=1, frames=48, progress=False,
                             workers=1)
    _, backbone = build_tiny_checkpoints(root / "ckpt")
    return root, synth, backbone


@pytest.fixture(scope="module")
def extracted(synth_and_backbone):
    root, synth, backbone = synth_and_backbone
    feats = root / "feats"
    assert main(["features", "extract", "--checkpoint", str(backbone), "--video-root", str(synth.video_root),
                 "--annotation", str(synth.train_json), "--snippet-frames", str(SNIPPET), "--num-workers", "0",
                 "--out", str(feats)]) == 0
    return feats


def test_extracted_features_are_the_backbone_embeddings_of_snippet_centres(synth_and_backbone, extracted):
    import torch

    from fgvad.data.annotations import load_annotations
    from fgvad.data.video import decode_frames
    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.video import frames_to_pixels

    root, synth, backbone = synth_and_backbone
    store = open_features(extracted)
    entries = load_annotations(synth.train_json)
    assert store.keys() == sorted({e.key for e in entries})
    assert store.meta["backbone"]["kind"] == "fgclip" and store.snippet_frames == SNIPPET
    assert store.meta["backbone"]["weights"]["model.safetensors"]  # sha256 of the backbone's weights
    video = store.read(entries[0].key)
    assert video.n_frames == 48 and video.features.shape == (12, store.embed_dim)
    model = FGCLIPModel.from_pretrained(backbone).eval()
    frames = decode_frames(synth.video_root / entries[0].video, np.arange(2, 48, SNIPPET), model.image_size)
    with torch.no_grad():
        expected = model.get_image_features(frames_to_pixels(frames, model.image_size)).numpy()
    np.testing.assert_allclose(video.features, expected, rtol=2e-3, atol=2e-3)  # stored as float16


def test_extraction_resumes_and_refuses_other_settings(synth_and_backbone, extracted, capsys, tmp_path):
    root, synth, backbone = synth_and_backbone
    before = {p.name: p.stat().st_mtime_ns for p in (extracted / "videos").iterdir()}
    args = ["features", "extract", "--checkpoint", str(backbone), "--video-root", str(synth.video_root),
            "--annotation", str(synth.train_json), "--num-workers", "0", "--out", str(extracted)]
    assert main(args + ["--snippet-frames", str(SNIPPET)]) == 0
    assert "0 videos extracted (0 snippets), 8 already there" in capsys.readouterr().out
    assert {p.name: p.stat().st_mtime_ns for p in (extracted / "videos").iterdir()} == before
    assert not list(extracted.rglob("*.tmp*"))
    # Another snippet length into the same folder would mix two samplings.
    assert main(args + ["--snippet-frames", "8"]) == 1
    assert "holds features with another snippet_frames (4 vs 8); use a new folder" in capsys.readouterr().err
    # An interrupted run leaves whole files only: a deleted one is extracted again, the rest skipped.
    victim = sorted((extracted / "videos").iterdir())[0]
    victim.unlink()
    assert main(args + ["--snippet-frames", str(SNIPPET)]) == 0
    assert "1 videos extracted (12 snippets), 7 already there" in capsys.readouterr().out


@pytest.mark.slow  # two trainings and three evaluations
def test_heads_train_on_features_and_eval_scores_videos_through_the_backbone(synth_and_backbone, extracted,
                                                                           tmp_path, capsys):
    root, synth, backbone = synth_and_backbone
    out = tmp_path / "heads"
    assert main(["train", "demo", "--data-path", str(synth.train_json), "--features", str(extracted),
                 "--output_dir", str(out), "--num-frames", "12", "--num_train_epochs", "3",
                 "--per_device_train_batch_size", "4", "--save_steps", "2", "--report_to", "none",
                 "--dataloader_num_workers", "0"]) == 0
    assert sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-4", "checkpoint-6"]  # save_total_limit 2
    assert not (out / "model.safetensors").exists()  # heads only: the backbone is not copied
    meta = json.loads((out / "fgvad_video.json").read_text())
    assert meta["backbone"]["path"] == str(Path(backbone).resolve())
    assert meta["features"]["snippet_frames"] == SNIPPET and meta["trained_on"]
    assert " mil " in (out / "trainer_log.txt").read_text()  # the MIL loss, logged per step

    evaluation = tmp_path / "eval"
    assert main(["eval", "--checkpoint", str(out), "--video-root", str(synth.video_root), "--test-annotation",
                 str(synth.temporal_annotation), "--stride", str(SNIPPET), "--num-workers", "0",
                 "--out", str(evaluation)]) == 0
    metrics = json.loads((evaluation / "metrics.json").read_text())
    assert metrics["score_kind"] == "mil" and 0.0 <= metrics["auc"] <= 1.0

    # Scoring runs the recorded backbone, so a backbone with other weights is refused in one line.
    from fgvad.eval.score import load_scorer

    changed = tmp_path / "changed_backbone"
    changed.mkdir()
    for f in Path(backbone).iterdir():
        (changed / f.name).write_bytes(f.read_bytes())
    with (changed / "model.safetensors").open("r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(CheckpointError, match="other weights than the one its heads were trained on"):
        from fgvad.models.video import VideoFGCLIP

        VideoFGCLIP.from_pretrained(out, backbone=changed)
    assert load_scorer(out).kind == "mil"


def test_feature_training_errors_are_one_line(synth_and_backbone, extracted, tmp_path, capsys):
    from fgvad.train import train

    root, synth, backbone = synth_and_backbone
    with pytest.raises(ConfigError, match="leave it out"):
        train("demo", {"data_path": str(synth.train_json), "features": str(extracted),
                       "model_name_or_path": str(backbone), "output_dir": str(tmp_path / "x")})
    with pytest.raises(FeatureError, match="not a features folder"):
        train("demo", {"data_path": str(synth.train_json), "features": str(tmp_path),
                       "output_dir": str(tmp_path / "y")})
    partial = tmp_path / "partial.json"
    entries = json.loads(synth.train_json.read_text())
    partial.write_text(json.dumps(entries + [dict(entries[0], video="videos/Abuse/NoSuchVideo.mp4")]))
    with pytest.raises(ConfigError, match="no features for 1 videos .*NoSuchVideo"):
        train("demo", {"data_path": str(partial), "features": str(extracted), "output_dir": str(tmp_path / "z")})
    assert main(["features", "extract", "--checkpoint", str(tmp_path), "--video-root", str(synth.video_root),
                 "--out", str(tmp_path / "f")]) == 1
    assert "not a backbone checkpoint (no config.json)" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_a_run_of_three_checkpoints_writes_table_plot_and_report(synth_and_backbone, extracted, tmp_path,
                                                                        capsys):
    root, synth, backbone = synth_and_backbone
    run = tmp_path / "run"
    assert main(["train", "demo", "--data-path", str(synth.train_json), "--features", str(extracted),
                 "--output_dir", str(run), "--num-frames", "12", "--max_steps", "3", "--save_steps", "1",
                 "--save_total_limit", "5", "--per_device_train_batch_size", "4", "--report_to", "none",
                 "--dataloader_num_workers", "0"]) == 0
    out = tmp_path / "compare"
    args = ["compare", "--run", str(run), "--checkpoint", str(backbone), "--video-root", str(synth.video_root),
            "--test-annotation", str(synth.temporal_annotation), "--stride", str(SNIPPET), "--num-workers", "0",
            "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "| model | step | auc (headline) | ap |" in printed
    data = json.loads((out / "compare.json").read_text())
    assert [(r["name"], r["step"]) for r in data["rows"]] == [
        ("run/checkpoint-1", 1), ("run/checkpoint-2", 2), ("run/checkpoint-3", 3), ("untouched", None)]
    assert data["rows"][3]["score_kind"] == "prompt" and data["rows"][0]["score_kind"] == "mil"
    for row in data["rows"]:
        assert 0.0 <= row["auc"] <= 1.0 and set(row["per_class_auc"]) <= {"Abuse", "Explosion", "Fighting", "Stealing"}
    assert (out / "compare.md").read_text().count("| run/checkpoint-") == 3
    png = out / "compare.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    html = (out / "report.html").read_text()
    assert "<img src='compare.png'" in html and html.count("run/checkpoint-") >= 3 and "(headline)" in html
    # A rerun reuses every evaluation; the report is drawn again from the files alone.
    assert main(args) == 0
    assert capsys.readouterr().err.count("reusing") == 4
    assert main(["viz", str(out)]) == 0 and "report:" in capsys.readouterr().out


def test_new_commands_help_has_examples_and_imports_no_torch():
    from helpers_cli import help_without_heavy_imports

    text = help_without_heavy_imports([["features", "extract"], ["compare"]])
    assert "fgvad features extract --checkpoint" in text and "fgvad compare --run" in text
    assert "--snippet-frames" in text and "--frames-per-snippet" in text


def test_snippet_rules():
    from fgvad.data.features import VideoFeatures
    from fgvad.data.snippets import snippet_frame_indices

    # 33 frames in 16-frame snippets: [0, 16), [16, 32), [32, 33); centres 8, 24, 32
    assert snippet_frame_indices(33, 16)[:, 0].tolist() == [8, 24, 32]
    assert snippet_frame_indices(33, 16, 4).tolist() == [[2, 6, 10, 14], [18, 22, 26, 30], [32, 32, 32, 32]]
    # a clip of a 30 fps video in 16-frame snippets: [1.0 s, 2.0 s) = frames [30, 60) -> snippets [1, 4)
    video = VideoFeatures("v", np.zeros((10, 2), np.float32), n_frames=160, fps=30.0, video="v.mp4")
    assert video.snippet_range(16, (1.0, 2.0)) == (1, 4)
    assert video.snippet_range(16, None) == (0, 10)
    assert video.snippet_range(16, (100.0, 200.0)) == (9, 10)  # past the end: the last snippet, never empty


@pytest.mark.parametrize("model_type", ["fgclip2", "siglip2"])
def test_fgclip2_family_folders_are_refused_in_one_line_by_the_registry(tmp_path, model_type):
    """The backbone registry decides the family; the FG-CLIP 2 family has no frozen-feature adapter yet."""
    from fgvad.models.feature_backbones import feature_backbone_kind, load_feature_backbone

    (tmp_path / "config.json").write_text(json.dumps({"model_type": model_type}))
    assert feature_backbone_kind(tmp_path) == "fgclip2"
    with pytest.raises(CheckpointError, match="fgclip2 backbones are not supported for frozen features yet"):
        load_feature_backbone(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(CheckpointError, match="model_type 'bert' is not supported"):
        feature_backbone_kind(tmp_path)
