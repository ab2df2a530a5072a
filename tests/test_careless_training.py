"""Careless training runs (issue 12): run identity, resume checks, divergence, worker errors and
missing extras. Real Trainer runs of a tiny model on real synthetic mp4s, and real
`python -m fgvad.cli train` processes where the exit status and stderr are the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from transformers import TrainerCallback

from fgvad.core.errors import CheckpointError, ConfigError, TrainingDivergedError, VideoError
from fgvad.train import train
from fgvad.train.run_identity import RUN_RECORD_NAME

sys.path.insert(0, str(Path(__file__).resolve().parent))
from helpers_train import tiny_run_options  # noqa: E402


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    from fgvad.data.tools.synth import generate_dataset

    root = tmp_path_factory.mktemp("careless_train")
    generate_dataset(root, train_videos=4, test_videos=2, seed=5, frames=32, size=(64, 48), progress=False)
    return root


def options(synth: Path, out: Path, **extra) -> dict:
    return tiny_run_options(synth, out, **{"max_steps": 2, "save_steps": 1, "seed": 1, **extra})


def fgvad_train(config: dict, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    preset = tmp_path / f"preset_{len(list(tmp_path.glob('preset_*')))}.yaml"
    preset.write_text(yaml.safe_dump(config))
    return subprocess.run([sys.executable, "-m", "fgvad.cli", "train", str(preset), *extra], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    err = result.stderr
    assert result.returncode in (1, 2), (result.returncode, err[-2000:])
    assert "Traceback" not in err and "Original Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("fgvad: error:")]
    assert len(errors) == 1, err[-2000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


def run_id(folder: Path) -> str:
    return json.loads((folder / RUN_RECORD_NAME).read_text())["run_id"]


# --------------------------------------------------------------------------- run identity


def test_a_new_run_never_resumes_or_mixes_with_another_runs_checkpoints(synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "fixed_preset_folder"
    train(options(synth, out))
    first_run, first_model = run_id(out), (out / "model.safetensors").read_bytes()
    assert run_id(out / "checkpoint-2") == first_run

    # Another run into the same folder (as two runs of one preset do): refused, one line, what to do.
    refused = fgvad_train(options(synth, out, seed=2), tmp_path)
    one_line_error(refused, f"--output_dir {out} holds the checkpoints of another run", "checkpoint-2",
                   "--resume_from_checkpoint true", "--overwrite_output_dir true")
    assert (out / "model.safetensors").read_bytes() == first_model  # untouched

    # With --overwrite_output_dir the other run's checkpoints go; a later resume continues this run only.
    train(options(synth, out, seed=2, max_steps=1, overwrite_output_dir=True))
    second_run = run_id(out)
    assert second_run != first_run and sorted(p.name for p in out.glob("checkpoint-*")) == ["checkpoint-1"]
    assert run_id(out / "checkpoint-1") == second_run
    result = train(options(synth, out, seed=2, resume_from_checkpoint=True))
    assert result.global_step == 2 and run_id(out) == second_run == run_id(out / "checkpoint-2")
    assert "(resumed at step 1)" in (out / "trainer_log.txt").read_text()
    assert (out / "model.safetensors").read_bytes() != first_model


def test_resume_refuses_damaged_and_other_shaped_checkpoints_in_one_line(synth: Path, tmp_path: Path) -> None:
    import shutil

    out = tmp_path / "run"
    train(options(synth, out, max_steps=1))
    good = out / "checkpoint-1"

    def damaged(name: str, file: str, content: bytes) -> Path:
        copy = tmp_path / name / "checkpoint-1"
        shutil.copytree(good, copy)
        (copy / file).write_bytes(content)
        return copy

    cases = [
        (damaged("state", "trainer_state.json", b'{"global_step": 1,'), "trainer_state.json: invalid JSON at line 1"),
        (damaged("state2", "trainer_state.json", b'{"no_such_field": 1}'),
         "trainer_state.json: not a trainer state (got an unexpected keyword argument 'no_such_field')"),
        (damaged("optim", "optimizer.pt", b"these bytes are not an optimizer"),
         "optimizer.pt: not a readable torch file"),
        (damaged("optim2", "optimizer.pt", good.joinpath("optimizer.pt").read_bytes()[:2000]),
         "optimizer.pt: not a readable torch file"),
    ]
    for checkpoint, says in cases:
        with pytest.raises(CheckpointError) as info:
            train(options(synth, checkpoint.parent, resume_from_checkpoint=str(checkpoint)))
        assert says in str(info.value), str(info.value)
    # Another model shape: one line naming the option, not pages of size-mismatch lines.
    result = fgvad_train(options(synth, out, tiny_vision_width=64, resume_from_checkpoint="true"), tmp_path)
    line = one_line_error(result, "checkpoint-1: cannot resume: the checkpoint's model has another shape",
                          "options that differ: --tiny-vision-width 32 there, 64 now")
    assert len(line) < 500


# --------------------------------------------------------------------------- divergence


def test_a_nan_learning_rate_fails_and_leaves_no_nan_model(synth: Path, tmp_path: Path) -> None:
    out = tmp_path / "nan_lr"
    # NaN or Inf is refused with the options, before any work (the validation layer of issue 12) ...
    result = fgvad_train(options(synth, out, learning_rate="nan", max_steps=3), tmp_path)
    one_line_error(result, "option --learning_rate: must be a finite number, got nan")
    assert not out.exists()
    # ... and a finite learning rate large enough to overflow the weights is caught as divergence.
    result = fgvad_train(options(synth, out, learning_rate="1e300", warmup_steps=0, max_steps=3), tmp_path)
    one_line_error(result, "training diverged: the weights became NaN/Inf by step", "no checkpoint was saved")
    assert not (out / "model.safetensors").exists() and not list(out.glob("checkpoint-*"))
    assert "ERROR training diverged" in (out / "trainer_log.txt").read_text()


class NanLossFrom(TrainerCallback):
    """From step ``step`` on, the training loss is NaN (a numerically broken batch), through torch's
    public forward hook on the training module; the weights stay finite because the step is skipped."""

    def __init__(self, step: int):
        self.step, self.hooked = step, False

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step + 1 >= self.step and not self.hooked:
            model.register_forward_hook(lambda module, inputs, out: {**out, "loss": out["loss"] * float("nan")})
            self.hooked = True


def test_a_run_ending_in_nan_losses_is_a_failure_and_keeps_the_last_good_checkpoint(synth: Path,
                                                                                     tmp_path: Path) -> None:
    out = tmp_path / "nan_end"
    with pytest.raises(TrainingDivergedError) as info:  # 2 NaN steps, below --max-nan-steps 5
        train(options(synth, out, max_steps=4, save_steps=2), callbacks=[NanLossFrom(step=3)])
    message = str(info.value)
    assert message.startswith("training diverged: the last logged loss (step 4) is nan; the final model was not saved")
    assert f"the last good checkpoint is {out / 'checkpoint-2'}" in message
    assert not (out / "model.safetensors").exists() and not (out / "checkpoint-4").exists()


# --------------------------------------------------------------------------- worker errors, extras, presets


def test_a_workers_fgvad_error_reaches_the_user_as_its_own_line(synth: Path, tmp_path: Path) -> None:
    import shutil

    from torch.utils.data import DataLoader, Dataset

    class Broken(Dataset):
        def __len__(self) -> int:
            return 1

        def __getitem__(self, index: int):
            raise VideoError("clip.mp4: truncated")

    with pytest.raises(VideoError) as info:
        next(iter(DataLoader(Broken(), batch_size=None, num_workers=1)))
    assert str(info.value) == "clip.mp4: truncated"

    broken = tmp_path / "broken"
    shutil.copytree(synth, broken)
    for video in (broken / "videos").rglob("*.mp4"):
        video.write_bytes(video.read_bytes()[:300])
    result = fgvad_train(options(broken, tmp_path / "run", dataloader_num_workers=1), tmp_path)
    one_line_error(result, "none of the 4 training samples can be loaded")
    assert "Caught" not in result.stderr


def test_missing_extras_and_a_non_utf8_preset_are_one_line(synth: Path, tmp_path: Path) -> None:
    base = options(synth, tmp_path / "run")
    one_line_error(fgvad_train(base, tmp_path, "--report_to", "wandb"),
                   "option --report_to wandb: its package is not installed (pip install wandb, or --report_to none)")
    one_line_error(fgvad_train(base, tmp_path, "--deepspeed", str(tmp_path / "ds.json")),
                   "option --deepspeed: the deepspeed package is not installed")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(b"num_frames: 4\n# r\xe9sum\xe9\n")
    result = subprocess.run([sys.executable, "-m", "fgvad.cli", "train", str(latin1)], capture_output=True, text=True,
                            timeout=300)
    one_line_error(result, "latin1.yaml: config file not UTF-8 text (byte 17)")
    with pytest.raises(ConfigError, match="not UTF-8"):
        train(latin1)
    assert not (tmp_path / "run").exists()


def _history(mil_values, every=2):
    return [{"step": every * (i + 1), "loss": 1.0 + m, "loss_mil": m} for i, m in enumerate(mil_values)]


def test_a_mil_loss_at_chance_for_the_second_half_is_named_as_learning_nothing(tmp_path, capsys):
    """The failed held-out runs ended with the MIL loss at ln 2 and exit 0; the run now says so."""
    import math

    from fgvad.train.options import build_config
    from fgvad.train.result import mil_at_chance, mil_chance_loss, warn_if_at_chance

    ln2 = math.log(2)
    assert mil_chance_loss(0.5) == pytest.approx(ln2) and mil_chance_loss(1.0) == 0.0
    # The held-out runs' shape: falling a little at first, then flat at ln 2.
    flat = _history([0.72, 0.70] + [ln2 + d for d in (0.002, -0.001, 0.003, 0.0, -0.002, 0.001)])
    assert "stayed at chance" in mil_at_chance(flat, 0.5)
    learning = _history([0.69, 0.6, 0.4, 0.2, 0.1, 0.05, 0.02, 0.01])
    assert mil_at_chance(learning, 0.5) is None
    assert mil_at_chance(flat[:5], 0.5) is None  # three logs in the second half: too few to say
    # Unbalanced batches: chance is the entropy of the anomalous share, 0.45 nats at 20 %.
    chance_20 = mil_chance_loss(0.2)
    assert chance_20 == pytest.approx(-(0.2 * math.log(0.2) + 0.8 * math.log(0.8)))
    assert mil_at_chance(_history([chance_20] * 8), 0.2) is not None
    assert mil_at_chance(_history([chance_20] * 8), 0.5) is None  # below ln 2: it learnt the share at least
    assert mil_at_chance(_history([ln2] * 8), 1.0) is None  # one class: nothing to tell apart

    cfg = build_config("demo", {"output_dir": str(tmp_path / "run")})
    warnings = warn_if_at_chance(flat, cfg, 0.5, tmp_path / "run", is_main=True)
    assert list(warnings) == ["mil"]
    assert "fgvad: warning: the MIL loss stayed at chance" in capsys.readouterr().out
    assert "stayed at chance" in (tmp_path / "run" / "trainer_log.txt").read_text()
    cfg.loss.mil_loss_weight = 0.0
    assert warn_if_at_chance(flat, cfg, 0.5, tmp_path / "run", is_main=True) == {}


def test_a_region_anomaly_loss_at_chance_is_named_too(tmp_path, capsys):
    """The seventh held-out runs' box loss stayed at 1.36-1.38 (chance 2 ln 2) with exit 0 and only
    the MIL warning; a run whose patch head learns nothing from the boxes now says so as well."""
    import math

    from fgvad.train.options import build_config
    from fgvad.train.result import REGION_ANOMALY_CHANCE_LOSS, region_anomaly_at_chance, warn_if_at_chance

    assert REGION_ANOMALY_CHANCE_LOSS == pytest.approx(2 * math.log(2))
    def history(values):
        return [{"step": 2 * (i + 1), "loss_region_anomaly": v, "loss_mil": 0.1} for i, v in enumerate(values)]

    flat = history([1.5, 1.42] + [1.38, 1.35, 1.39, 1.37, 1.36, 1.38])  # a held-out run's shape
    assert "region anomaly loss stayed at chance" in region_anomaly_at_chance(flat)
    hard_but_learning = history([1.4, 1.35, 1.3, 1.28, 1.25, 1.24, 1.22, 1.2])  # the 3x3 development sets
    assert region_anomaly_at_chance(hard_but_learning) is None
    assert region_anomaly_at_chance(flat[:5]) is None  # too few logs in the second half
    assert region_anomaly_at_chance(_history([math.log(2)] * 8)) is None  # a run without the loss

    cfg = build_config("demo", {"output_dir": str(tmp_path / "run")})  # the demo trains both losses
    assert cfg.loss.region_anomaly_loss_weight > 0 and cfg.loss.mil_loss_weight > 0
    warnings = warn_if_at_chance(flat, cfg, 0.5, tmp_path / "run", is_main=True)
    assert list(warnings) == ["region_anomaly"] and "region anomaly" in warnings["region_anomaly"]  # MIL learnt
    assert "fgvad: warning: the region anomaly loss" in capsys.readouterr().out
    both = [dict(h, loss_mil=math.log(2)) for h in flat]
    assert list(warn_if_at_chance(both, cfg, 0.5, tmp_path / "run", is_main=True)) == ["mil", "region_anomaly"]
    cfg.loss.region_anomaly_loss_weight = 0.0
    assert warn_if_at_chance(flat, cfg, 0.5, tmp_path / "run", is_main=True) == {}
