"""The users' fgclip-vad flags as aliases (one note each, fgvad's own options win) and
two-stage training by --loss-schedule."""

from __future__ import annotations

from pathlib import Path

import pytest

from fgvad.cli import main
from fgvad.core.errors import ConfigError
from fgvad.data.tools.synth import generate_dataset
from fgvad.train.aliases import USER_FLAGS
from fgvad.train.options import build_config
from fgvad.train.schedule import parse_loss_schedule, weights_at
from helpers_train import tiny_run_options


def test_each_user_flag_sets_fgvad_options_with_a_note(capsys):
    cfg = build_config({}, ["--image_folder", "/videos", "--text_model_lr", "5e-6", "--add_box_loss", "True",
                            "--use_hard_neg", "--disable_global_loss", "true", "--auto_resume", "--from_openai",
                            "--lora_enable", "--lora_r", "4", "--num_frames", "8", "--max-keyframes", "3"])
    assert cfg.data.video_root == "/videos" and cfg.optim.text_lr == 5e-6
    assert (cfg.loss.region_loss_weight, cfg.loss.hard_negative_loss_weight, cfg.loss.global_loss_weight) == (1, 1, 0)
    assert cfg.training.resume_from_checkpoint == "auto" and cfg.model.lora and cfg.model.lora_r == 4
    assert cfg.data.max_boxes == 3  # fgvad's own renamed option
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fgvad: note: ")]
    assert len(notes) == len(USER_FLAGS)
    assert "fgvad: note: --image_folder is fgvad's --video-root" in notes
    assert any("--add_box_loss true: region loss on (fgvad: --region-loss-weight 1.0)" in n for n in notes)
    off = build_config({}, ["--add_box_loss", "false", "--use_hard_neg", "false", "--lora_enable", "False"])
    assert off.loss.region_loss_weight == 0 and off.loss.hard_negative_loss_weight == 0 and not off.model.lora
    # An fgvad option given beside an alias wins; a YAML/mapping layer takes the aliases too.
    assert build_config({}, ["--add_box_loss", "--region-loss-weight", "0.5"]).loss.region_loss_weight == 0.5
    assert build_config({"image_folder": "/v2"}).data.video_root == "/v2"
    with pytest.raises(ConfigError, match=r"--add_box_loss: expected bool, got 'maybe'"):
        build_config({}, ["--add_box_loss", "maybe"])


def test_cli_help_lists_the_aliases(capsys):
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(f"--{name}" in out for name in USER_FLAGS) and "docs/migrating.md" in out


def test_loss_schedule_parsing_and_weights():
    stages = parse_loss_schedule("0:global=1,region=0;5:global=0,region=1,hard_negative=0.5")
    base = {"global_loss_weight": 1.0, "region_loss_weight": 1.0, "hard_negative_loss_weight": 0.0,
            "mil_loss_weight": 1.0}
    assert weights_at(stages, 4, base) == {**base, "region_loss_weight": 0.0}
    assert weights_at(stages, 5, base) == {**base, "global_loss_weight": 0.0, "hard_negative_loss_weight": 0.5}
    for bad, message in [("5 global=1", "expected STEP:name=value"), ("0:globl=1", "name one of global"),
                         ("0:global=-1", "must be >= 0"), ("5:mil=1;2:mil=0", "must increase")]:
        with pytest.raises(ConfigError, match=message):
            build_config({"loss_schedule": bad})


@pytest.mark.slow
def test_two_stage_run_switches_losses_at_the_step(tmp_path: Path):
    from fgvad.train import train

    synth = tmp_path / "synth"
    generate_dataset(synth, train_videos=4, test_videos=2, seed=4, frames=48, progress=False)
    out = tmp_path / "out"
    result = train(None, tiny_run_options(synth, out, max_steps=4,
                                          loss_schedule="0:global=1,region=0,mil=0;2:global=0,region=1"))
    logged = {h["step"]: h for h in result.log_history if "loss" in h and "train_loss" not in h}
    assert "loss_global" in logged[1] and "loss_region" not in logged[1] and "loss_mil" not in logged[2]
    assert "loss_region" in logged[3] and "loss_global" not in logged[4]
    log = (out / "trainer_log.txt").read_text()
    assert "=== step 0: loss weights global 1 region 0 hard_negative 0 mil 0" in log
    assert "=== step 2: loss weights global 0 region 1 hard_negative 0 mil 0" in log


def test_auto_resume_starts_fresh_then_continues_its_run(tmp_path: Path):
    """--auto_resume: a fresh start when the folder has no checkpoint of its run, then that run's newest."""
    from fgvad.train import train

    synth = tmp_path / "synth"
    generate_dataset(synth, train_videos=4, test_videos=2, seed=4, frames=48, progress=False)
    out = tmp_path / "out"
    argv = [f"--{k}={v}" for k, v in tiny_run_options(synth, out, save_steps=1).items()] + ["--auto_resume"]
    first = train(None, argv + ["--max_steps=1"])
    assert first.global_step == 1 and (out / "checkpoint-1").is_dir()
    second = train(None, argv + ["--max_steps=2"])
    assert second.global_step == 2
    from fgvad.train.run_identity import read_run_record

    record = read_run_record(out)
    assert "resumed" in record and read_run_record(out / "checkpoint-2")["run_id"] == record["run_id"]
