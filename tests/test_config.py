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
    cfg = build_config(cfg_file, ["--num-frames", "8", "--text-lr=1e-6", "--skip-bad", "--report_to", "none",
                                  "--no-use-class-prompts", "--max-videos", "10"])
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
    with pytest.raises(ConfigError, match=r"unknown option --num-frame \(did you mean --num-frames\?\)"):
        build_config({}, ["--num-frame", "8"])
    # A YAML or mapping key is named as a key, not as a flag.
    with pytest.raises(ConfigError, match=r"unknown option num_frame \(did you mean num_frames\?\)"):
        build_config({"num_frame": 8})


def test_bad_values_are_one_line_config_errors():
    with pytest.raises(ConfigError, match=r"--num-frames: expected int, got 'many'"):
        build_config({}, ["--num-frames", "many"])
    with pytest.raises(ConfigError, match=r"--mil-topk-fraction: must be in \(0, 1\]"):
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
    # activation_checkpointing (transformers >= 5.23) sets gradient_checkpointing on earlier releases
    assert full.training.gradient_checkpointing is True
    assert getattr(full.training, "activation_checkpointing", True) is True
    assert full.training.output_dir.endswith("checkpoints/fgclip_ucf_full")
    assert (PRESET_DIR / "deepspeed_zero2.json").is_file()


def test_help_lists_fgvad_groups_first():
    out = subprocess.run([sys.executable, "-m", "fgvad.cli", "train", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.index("fgvad model options") < text.index("HF TrainingArguments")
    assert "--text-lr" in text and "--learning_rate" in text and "examples:" in text
    assert "--text_lr" not in text  # fgvad's own flags are listed kebab-case
    assert "flag spelling: fgvad's own options are kebab-case" in text


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


def test_train_accepts_old_fgvad_spellings_with_one_note_each(tmp_path, capsys):
    """--num_frames still works (one note per option), HF names need no note in either spelling."""
    from fgvad.cli.train import normalise_spelling

    argv = normalise_spelling(["--num_frames", "8", "--no_use_class_prompts", "--num_frames=4", "--text-lr", "1e-6",
                               "--per_device_train_batch_size", "3", "--gradient-accumulation-steps", "2"])
    assert argv == ["--num-frames", "8", "--no-use-class-prompts", "--num-frames=4", "--text-lr", "1e-6",
                    "--per_device_train_batch_size", "3", "--gradient-accumulation-steps", "2"]
    notes = capsys.readouterr().err.splitlines()
    assert notes == ["fgvad: note: --num_frames is spelled --num-frames now",
                     "fgvad: note: --no_use_class_prompts is spelled --no-use-class-prompts now"]
    cfg = build_config({}, argv)
    assert cfg.data.num_frames == 4 and cfg.loss.use_class_prompts is False
    assert cfg.training.per_device_train_batch_size == 3 and cfg.training.gradient_accumulation_steps == 2


def test_cli_old_spelling_note_then_one_line_error():
    out = subprocess.run([sys.executable, "-m", "fgvad.cli", "train", "demo", "--num_frames", "0"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == ["fgvad: note: --num_frames is spelled --num-frames now",
                                               "fgvad: error: option --num-frames: must be in [1, 65536], got 0"]


def test_train_takes_a_train_config_but_no_overrides_with_it():
    from fgvad.train import TrainConfig, train

    cfg = build_config("demo", {"output_dir": "/tmp/unused"})
    assert isinstance(cfg, TrainConfig)
    with pytest.raises(ConfigError, match="with a TrainConfig, set its fields instead"):
        train(cfg, ["--num-frames", "8"])
