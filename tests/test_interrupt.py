"""Interruptions with real processes (issue 7, item 3).

- SIGTERM (and SIGINT) during `fgvad train` write a checkpoint and exit without a traceback;
  `--resume_from_checkpoint true` then reproduces the per-step losses of an uninterrupted run.
- `kill -9` while a checkpoint is half written (the process's torch.save sleeps before the
  optimizer state of that checkpoint, as a slow disk would) leaves nothing that resume would
  pick: it resumes from the previous complete checkpoint.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from transformers import TrainerCallback

from fgvad.data.tools.synth import generate_dataset
from fgvad.train import train
from fgvad.train.checkpointing import STAGING_DIR, latest_complete_checkpoint
from helpers_train import tiny_run_options

REFERENCE_STEPS = 8
MAX_STEPS = 200  # the lr schedule of every run here; runs are stopped long before


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, train_videos=6, test_videos=2, seed=5, frames=32, progress=False)
    return root


def _options(synth: Path, out: Path, **extra) -> dict:
    return tiny_run_options(synth, out, **{"max_steps": MAX_STEPS, "save_steps": 1000, "seed": 11, **extra})


class StopAt(TrainerCallback):
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def _losses(history: list[dict]) -> dict[int, float]:
    return {h["step"]: h["loss"] for h in history if "loss" in h and "train_loss" not in h}


@pytest.fixture(scope="module")
def reference(synth: Path, tmp_path_factory) -> dict[int, float]:
    out = tmp_path_factory.mktemp("reference")
    result = train(_options(synth, out), callbacks=[StopAt(REFERENCE_STEPS)])
    losses = _losses(result.log_history)
    assert sorted(losses) == list(range(1, REFERENCE_STEPS + 1))
    return losses


# `fgvad train CONFIG` in a process whose torch.save sleeps before writing optimizer.pt of
# checkpoint-STEP: the model files of that checkpoint are written, the rest is not.
SLOW_SAVE = """
import sys, time
from pathlib import Path
import torch
config, step = sys.argv[1], sys.argv[2]
fast_save = torch.save
def slow_save(obj, f, *args, **kwargs):
    path = Path(str(f))
    if path.name == "optimizer.pt" and path.parent.name == f"checkpoint-{step}":
        time.sleep(120)
    return fast_save(obj, f, *args, **kwargs)
torch.save = slow_save
from fgvad.cli import main
sys.exit(main(["train", config]))
"""


def _start_training(config: Path, slow_save_step: int | None = None) -> subprocess.Popen:
    """The process's output goes to files beside ``config`` (``proc.stderr_path``): a pipe nobody
    reads until the end would block a process that writes more than the pipe holds."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = ([sys.executable, "-c", SLOW_SAVE, str(config), str(slow_save_step)] if slow_save_step is not None
               else [sys.executable, "-m", "fgvad.cli", "train", str(config)])
    stderr_path = config.with_suffix(".stderr.txt")
    with (config.with_suffix(".stdout.txt")).open("w") as out, stderr_path.open("w") as err:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
    proc.stderr_path = stderr_path  # type: ignore[attr-defined]
    return proc


def _stderr(proc: subprocess.Popen) -> str:
    return proc.stderr_path.read_text()  # type: ignore[attr-defined]


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"training exited early ({proc.returncode}): {_stderr(proc)[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out waiting for training")
        time.sleep(0.05)


def _logged_steps(out: Path) -> int:
    log = out / "trainer_log.txt"
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if line.startswith("Training Epoch"))


def test_sigterm_then_kill_9_mid_save_then_resume_is_exact(synth, reference, tmp_path):
    """One real run is stopped by SIGTERM, its resumption is killed (-9) while writing the
    next checkpoint, and a final resume still reproduces the uninterrupted losses."""
    out = tmp_path / "run"
    config = tmp_path / "train.yaml"
    config.write_text(yaml.safe_dump(_options(synth, out, save_steps=2)))

    # 1. SIGTERM after the first logged step: a checkpoint, a clear message, no traceback.
    proc = _start_training(config)
    _wait_for(lambda: _logged_steps(out) >= 1, proc)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=90)
    stderr = _stderr(proc)
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "Traceback" not in stderr and "training interrupted by SIGTERM" in stderr, stderr[-3000:]
    checkpoint = latest_complete_checkpoint(out)
    assert checkpoint is not None, sorted(p.name for p in out.iterdir())
    stopped = int(Path(checkpoint).name.split("-")[1])
    assert f"SIGTERM received; saving checkpoint-{stopped}" in (out / "trainer_log.txt").read_text()
    assert not (out / "model.safetensors").exists()  # an interrupted run is not a final model

    # 2. Resume, and kill -9 while the next regular checkpoint is half written.
    next_save = (stopped // 2 + 1) * 2
    assert next_save + 1 <= REFERENCE_STEPS, stopped
    config.write_text(yaml.safe_dump(_options(synth, out, save_steps=2, resume_from_checkpoint=True)))
    proc = _start_training(config, slow_save_step=next_save)
    half_written = out / STAGING_DIR / f"checkpoint-{next_save}"
    _wait_for(lambda: (half_written / "model.safetensors").is_file(), proc)
    proc.kill()  # SIGKILL: no handler, no cleanup
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not (out / f"checkpoint-{next_save}").exists()
    assert latest_complete_checkpoint(out) == checkpoint

    # 3. Resume once more: from the last complete checkpoint, with the reference's losses.
    resumed = train(_options(synth, out, save_steps=2, resume_from_checkpoint=True),
                    callbacks=[StopAt(next_save + 1)])
    assert f"(resumed at step {stopped})" in (out / "trainer_log.txt").read_text().split("===")[-2]
    assert not list((out / STAGING_DIR).glob("*"))  # the stale half checkpoint was cleared
    assert (out / f"checkpoint-{next_save}" / "optimizer.pt").is_file()
    losses = _losses(resumed.log_history)
    assert sorted(losses) == list(range(1, next_save + 2))
    for step, loss in losses.items():
        assert abs(loss - reference[step]) <= 1e-5, (step, loss, reference[step])


class RaiseSignal(TrainerCallback):
    """Delivers a real signal to this process at the end of step ``step``."""

    def __init__(self, step: int, signum: int):
        self.step, self.signum = step, signum

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            signal.raise_signal(self.signum)


def test_sigint_saves_a_checkpoint_and_restores_the_handler(synth, tmp_path):
    from fgvad.core.errors import TrainingInterrupted

    out = tmp_path / "run"
    before = signal.getsignal(signal.SIGINT)
    # The signal arrives after fgvad's callback has looked at step 2, so step 3 is the one saved.
    with pytest.raises(TrainingInterrupted, match="interrupted by SIGINT at step 3; saved .*checkpoint-3") as info:
        train(_options(synth, out), callbacks=[RaiseSignal(2, signal.SIGINT)])
    assert info.value.exit_code == 130
    assert latest_complete_checkpoint(out) == str(out / "checkpoint-3")
    assert signal.getsignal(signal.SIGINT) is before
