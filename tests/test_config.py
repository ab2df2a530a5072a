"""Training options: YAML + command-line merging, coercion, errors, presets, --help."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fgvad.train.options import PRESET_DIR, build_config, parse_overrides, option_table
from fgvad.core.errors import ConfigError


def test_yaml_then_cli_overrides_with_types(tmp_path: Path):
    cfg_file = tmp_path / "run.yaml"
    cfg_file.write_text("learning_rate: 1e-5\nnum_frames: 32\ntext_lr: 5e-6\nbf16: false\nuse_cpu: true\n"
                        "output_dir: %s\n" % (tmp_path / "out"))
    cfg = build_config(cfg_file, ["--num_frames", "8", "--text_lr=1e-6", "--skip_bad", "--report_to", "none",
                                  "--no_use_class_prompts", "--max_videos", "10"])
    assert cfg.training.learning_rate == 1e-5  # PyYAML reads 1e-5 as a string; coerced to float
    assert isinstance(cfg.training.learning_rate, float)
    assert cfg.data.num_frames == 8 and cfg.optim.text_lr == 1e-6
    assert cfg.data.skip_bad is True and cfg.loss.use_class_prompts is False
    assert cfg.data.max_videos == 10
    assert cfg.training.report_to == []
    # fgvad's defaults for HF options
    assert cfg.training.lr_scheduler_type.value == "cosine" and cfg.training.max_grad_norm == 1.0
    assert cfg.training.remove_unused_columns is False


def test_unknown_option_names_the_closest_valid_one():
    with pytest.raises(ConfigError, match=r"unknown option --lerning_rate \(did you mean --learning_rate\?\)"):
        build_config({}, ["--lerning_rate", "1e-4"])
    with pytest.raises(ConfigError, match=r"unknown option --num_frame \(did you mean --num_frames\?\)"):
        build_config({"num_frame": 8})


def test_bad_values_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"--num_frames: expected int, got 'many'"):
        build_config({}, ["--num_frames", "many"])
    with pytest.raises(ConfigError, match=r"--mil_topk_fraction: must be in \(0, 1\]"):
        build_config({"mil_topk_fraction": 2})
    with pytest.raises(ConfigError, match=r"--learning_rate needs a value"):
        build_config({}, ["--learning_rate"])
    with pytest.raises(ConfigError, match="config file not found"):
        build_config("no_such_preset")
    with pytest.raises(ConfigError) as info:
        build_config({}, ["--lr_scheduler_type", "zigzag"])
    assert "\n" not in str(info.value)


def test_resume_true_means_latest_and_hyphens_are_accepted():
    cfg = build_config({"resume_from_checkpoint": True}, ["--per-device-train-batch-size", "3"])
    assert cfg.training.resume_from_checkpoint == "latest"
    assert cfg.training.per_device_train_batch_size == 3
    assert build_config({}, ["--resume_from_checkpoint", "false"]).training.resume_from_checkpoint is None


def test_list_and_dict_options():
    table = option_table()
    got = parse_overrides(["--report_to", "tensorboard", "wandb", "--fsdp_config", "x.json"], table)
    assert got == {"report_to": ["tensorboard", "wandb"], "fsdp_config": "x.json"}


@pytest.mark.parametrize("preset", ["demo", "ucf_debug", "ucf_full", "ucf_24gb", "fsdp"])
def test_presets_parse(preset: str):
    cfg = build_config(preset, ["--use_cpu", "true", "--bf16", "false"])
    assert cfg.data.num_frames >= 16


def test_presets_carry_the_users_guide_values():
    debug = build_config("ucf_debug")
    assert (debug.data.max_videos, debug.data.num_frames, debug.training.per_device_train_batch_size,
            debug.training.gradient_accumulation_steps, debug.training.num_train_epochs,
            debug.training.save_steps) == (10, 64, 1, 4, 2, 5)
    assert debug.training.output_dir.endswith("checkpoints/fgclip_ucf_debug")
    full = build_config("ucf_full", ["--use_cpu", "true", "--bf16", "false"])
    assert (full.data.num_frames, full.training.per_device_train_batch_size,
            full.training.gradient_accumulation_steps, full.training.num_train_epochs,
            full.training.save_steps, full.training.save_total_limit) == (256, 2, 8, 10, 100, 3)
    assert full.training.learning_rate == 1e-5 and full.optim.text_lr == 5e-6
    assert full.training.activation_checkpointing is True
    assert full.training.output_dir.endswith("checkpoints/fgclip_ucf_full")
    assert (PRESET_DIR / "deepspeed_zero2.json").is_file()


def test_help_lists_fgvad_groups_first():
    out = subprocess.run([sys.executable, "-m", "fgvad.cli", "train", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.index("fgvad model options") < text.index("HF TrainingArguments")
    assert "--text_lr" in text and "--learning_rate" in text and "examples:" in text


def test_cli_reports_unknown_option_without_traceback():
    out = subprocess.run([sys.executable, "-m", "fgvad.cli", "train", "demo", "--lerning_rate", "1"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip() == "fgvad: error: unknown option --lerning_rate (did you mean --learning_rate?)"


def test_old_underscore_flags_still_work_with_a_note(tmp_path, capsys):
    from fgvad.cli import main

    assert main(["gt", "--annotation", "ucf-crime", "--frame_counts", "ucf-crime", "--mode", "i3d",
                 "--out", str(tmp_path / "gt.npz")]) == 0
    err = capsys.readouterr().err
    assert "--frame_counts is spelled --frame-counts now" in err
    assert (tmp_path / "gt.npz").is_file()
