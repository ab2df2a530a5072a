"""Training end to end on real synthetic mp4 files: convergence, exact resume, checkpoints
with rotation, trainer_log.txt, TensorBoard files, the NaN guard."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from fgvad.data.tools.synth import generate_dataset
from fgvad.train import train
from helpers_train import tiny_run_options

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synth(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth")
    generate_dataset(root, train_videos=24, test_videos=2, seed=3, frames=48, progress=False)
    return root


# A very small model so that resume/rotation/NaN tests take seconds.
def _small(synth: Path, out: Path, **extra) -> dict:
    return tiny_run_options(synth, out, **{"max_videos": 8, "max_steps": 6, "save_steps": 3, "save_total_limit": 5,
                                           "seed": 7, **extra})


def _losses(history: list[dict]) -> dict[int, float]:
    return {h["step"]: h["loss"] for h in history if "loss" in h and "train_loss" not in h}


def test_demo_preset_converges_on_synthetic_data(synth: Path, tmp_path: Path):
    result = train("demo", {"data_path": str(synth / "train.json"), "video_root": str(synth / "videos"),
                            "output_dir": str(tmp_path / "demo"), "num_train_epochs": 16,
                            "report_to": "tensorboard", "disable_tqdm": True})
    logs = [h for h in result.log_history if "loss" in h and "train_loss" not in h]
    assert len(logs) >= 10
    for h in logs:
        assert all(math.isfinite(h[k]) for k in ("loss", "loss_global", "loss_region", "loss_mil"))
    first, last = logs[0]["loss"], sum(h["loss"] for h in logs[-3:]) / 3
    assert last < 0.5 * first, (first, last)
    for key in ("loss_global", "loss_region", "loss_mil"):
        head = sum(h[key] for h in logs[:3]) / 3
        tail = sum(h[key] for h in logs[-3:]) / 3
        assert tail < head, (key, head, tail)
    out = tmp_path / "demo"
    assert list((out / "runs").rglob("events.out.tfevents.*")), "TensorBoard event files expected"
    lines = (out / "trainer_log.txt").read_text().splitlines()
    steps = [ln for ln in lines if ln.startswith("Training Epoch")]
    assert len(steps) == len(logs)
    for word in ("loss", "global", "region", "mil", "lr", "grad_norm", "frames/s", "ETA"):
        assert f" {word} " in steps[-1]
    # The final model loads as a video model and as plain FG-CLIP.
    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.video import VideoFGCLIP, read_trained_on

    VideoFGCLIP.from_pretrained(result.final_checkpoint)
    FGCLIPModel.from_pretrained(result.final_checkpoint)
    assert len(read_trained_on(result.final_checkpoint)) == 24


class StopAt(TrainerCallback):
    """Simulates an interruption after ``step`` optimizer steps."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step >= self.step:
            control.should_training_stop = True


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return {**load_file(str(folder / "model.safetensors")), **load_file(str(folder / "video_heads.safetensors"))}


def test_resume_is_exact_and_checkpoints_rotate(synth: Path, tmp_path: Path):
    # Mirroring draws random numbers per video: resume must restore those draws too.
    full = train(_small(synth, tmp_path / "full", save_steps=1, save_total_limit=2, hflip_probability=0.5))
    part = tmp_path / "part"
    train(_small(synth, part, hflip_probability=0.5), callbacks=[StopAt(3)])
    assert (part / "checkpoint-3").is_dir() and not (part / "checkpoint-6").exists()
    resumed = train(_small(synth, part, resume_from_checkpoint=True, hflip_probability=0.5))

    a, b = _losses(full.log_history), _losses(resumed.log_history)
    assert sorted(a) == [1, 2, 3, 4, 5, 6] and sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):
        assert abs(a[step] - b[step]) <= 1e-5, (step, a[step], b[step])
    wa, wb = _weights(full.final_checkpoint), _weights(resumed.final_checkpoint)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.allclose(wa[key], wb[key], atol=1e-6), key

    # Rotation: save every step, keep 2 -> only the last two remain, each a full checkpoint.
    kept = sorted(p.name for p in (tmp_path / "full").glob("checkpoint-*"))
    assert kept == ["checkpoint-5", "checkpoint-6"]
    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.video import VideoFGCLIP

    ckpt = tmp_path / "full" / "checkpoint-5"
    FGCLIPModel.from_pretrained(ckpt)
    VideoFGCLIP.from_pretrained(ckpt)
    for name in ("optimizer.pt", "scheduler.pt", "trainer_state.json", "config.json", "tokenizer.json",
                 "fgvad_train_config.yaml"):
        assert (ckpt / name).is_file(), name
    assert not (ckpt / "training_args.bin").exists()  # nothing pickled in our checkpoints
    state = json.loads((ckpt / "trainer_state.json").read_text())
    assert state["global_step"] == 5


class PoisonParameter(TrainerCallback):
    """Fills the MIL head's weight with NaN at ``start`` and restores it at ``stop`` (None: never)."""

    def __init__(self, trainer_ref: list, start: int, stop: int | None):
        self.trainer_ref, self.start, self.stop = trainer_ref, start, stop
        self.saved: torch.Tensor | None = None

    def _param(self, model) -> torch.nn.Parameter:
        return model.video_model.mil_head[1].weight

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        param = self._param(model)
        if state.global_step == self.start:
            self.saved = param.detach().clone()
            with torch.no_grad():
                param.fill_(float("nan"))
        if self.stop is not None and state.global_step == self.stop and self.saved is not None:
            with torch.no_grad():
                param.copy_(self.saved)


def test_single_nan_step_is_skipped_and_training_continues(synth: Path, tmp_path: Path):
    out = tmp_path / "nan_once"
    result = train(_small(synth, out, max_steps=5, save_steps=100),
                   callbacks=[PoisonParameter([], start=2, stop=3)])
    log = (out / "trainer_log.txt").read_text()
    assert "WARNING step 3: loss is NaN/Inf, update skipped" in log
    weights = _weights(result.final_checkpoint)
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert result.global_step == 5


def test_repeated_nans_stop_training_and_keep_the_last_good_checkpoint(synth: Path, tmp_path: Path):
    from fgvad.core.errors import TrainingDivergedError

    out = tmp_path / "nan_many"
    with pytest.raises(TrainingDivergedError, match="consecutive NaN/Inf losses; the last good checkpoint is"):
        train(_small(synth, out, max_steps=10, save_steps=1, max_nan_steps=2),
              callbacks=[PoisonParameter([], start=2, stop=None)])
    kept = sorted(p.name for p in out.glob("checkpoint-*"))
    # Steps 3 and 4 were skipped; no checkpoint of the broken state after step 2.
    assert kept[-1] == "checkpoint-2"
    last = out / kept[-1]
    assert all(torch.isfinite(w).all() for w in _weights(last).values())
    assert "consecutive NaN/Inf losses, training stopped" in (out / "trainer_log.txt").read_text()
