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
        assert all(math.isfinite(h[k]) for k in ("loss", "loss_region", "loss_mil"))
        assert "loss_global" not in h  # the preset trains without the global loss: not even computed
    first, last = logs[0]["loss"], sum(h["loss"] for h in logs[-3:]) / 3
    # Measured: 0.64x the first (region 3.6 -> 2.4, its floor set by the near-duplicate captions
    # of the queue; MIL 0.69 -> 0.44). It stayed above 0.5x once random crops (which sometimes cut
    # the event out of a clip) came in, and the global loss, which fell fastest, went out of the
    # preset. A broken optimiser stays near 1x, and an unlearnt MIL head at ln 2 = 0.69.
    assert last < 0.75 * first, (first, last)
    assert sum(h["loss_mil"] for h in logs[-3:]) / 3 < 0.6, [h["loss_mil"] for h in logs]
    assert result.warnings == [] and result.at_chance == []  # heads that learn are not reported as at chance
    for key in ("loss_region", "loss_mil"):
        head = sum(h[key] for h in logs[:3]) / 3
        tail = sum(h[key] for h in logs[-3:]) / 3
        assert tail < head, (key, head, tail)
    out = tmp_path / "demo"
    assert list((out / "runs").rglob("events.out.tfevents.*")), "TensorBoard event files expected"
    head = json.loads((Path(result.final_checkpoint) / "fgvad_video.json").read_text())["head_config"]
    assert (head["motion_input"], head["motion_shift_tolerance"]) == ("frame_difference", 2)  # what scoring reads
    lines = (out / "trainer_log.txt").read_text().splitlines()
    steps = [ln for ln in lines if ln.startswith("Training Epoch")]
    assert len(steps) == len(logs)
    for word in ("loss", "region", "mil", "lr", "grad_norm", "frames/s", "ETA"):
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


# Every per-epoch draw on: balanced pairs, temporal jitter, mirroring, crops, colour, the caption queue.
RANDOM_DRAWS = {"hflip_probability": 0.5, "crop_scale": 0.6, "crop_ratio": 1.3, "color_jitter": 0.3,
                "frame_pool": 4, "balanced_sampling": True, "region_queue_size": 16, "max_boxes": 3,
                "patch_anomaly": True, "region_anomaly_loss_weight": 1.0}


def test_resume_is_exact_and_checkpoints_rotate(synth: Path, tmp_path: Path):
    # 8 videos at batch 2: 4 steps per epoch, so the resume at step 3 is mid-epoch and steps 5-6
    # belong to the next epoch (new jitter, mirror and pair draws); the queue is full by step 3.
    full = train(_small(synth, tmp_path / "full", save_steps=1, save_total_limit=2, **RANDOM_DRAWS))
    part = tmp_path / "part"
    train(_small(synth, part, **RANDOM_DRAWS), callbacks=[StopAt(3)])
    assert (part / "checkpoint-3").is_dir() and not (part / "checkpoint-6").exists()
    assert (part / "checkpoint-3" / "fgvad_caption_queue.safetensors").is_file()
    resumed = train(_small(synth, part, resume_from_checkpoint=True, **RANDOM_DRAWS))

    a, b = _losses(full.log_history), _losses(resumed.log_history)
    assert sorted(a) == [1, 2, 3, 4, 5, 6] and sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):
        assert abs(a[step] - b[step]) <= 1e-4, (step, a[step], b[step])
    region = {h["step"]: h["loss_region"] for h in resumed.log_history if "loss_region" in h}
    assert all(value > 0 for value in region.values())
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


class VisionGradient(TrainerCallback):
    """Records, before each optimizer step, the gradient norm of the first vision layer."""

    def __init__(self):
        self.norms: list[float] = []

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        weight = model.video_model.clip.vision_model.encoder.layers[0].mlp.fc1.weight
        self.norms.append(0.0 if weight.grad is None else float(weight.grad.norm()))


def test_region_loss_teaches_at_batch_one_with_one_region_caption(synth: Path, tmp_path: Path):
    """Issue 11: the users' JSON has one region caption in 1,509 of 1,559 entries; at batch 1 the
    region loss used to be log(1) = 0. The caption queue and the class prompts give it negatives."""
    raw = json.loads((synth / "train.json").read_text())
    single = [{**e, "region_captions": e["region_captions"][:1], "box_infos": e["box_infos"][:1]}
              for e in raw if e["box_infos"] and e["box_infos"][0]]
    assert len(single) >= 8 and {("Normal" in e["video"]) for e in single} == {True, False}
    (tmp_path / "one_region.json").write_text(json.dumps(single))
    grads = VisionGradient()
    result = train(tiny_run_options(synth, tmp_path / "out", data_path=str(tmp_path / "one_region.json"),
                                    per_device_train_batch_size=1, max_steps=8, save_steps=100, global_loss_weight=0,
                                    mil_loss_weight=0, region_loss_weight=1, seed=3), callbacks=[grads])
    region = [h["loss_region"] for h in result.log_history if "loss_region" in h and "train_loss" not in h]
    assert len(region) == 8 and all(value > 0.05 for value in region), region
    assert len(grads.norms) == 8 and all(norm > 0 for norm in grads.norms), grads.norms


def test_validation_auc_is_logged_at_every_evaluation_and_the_best_model_is_kept(synth: Path, tmp_path: Path):
    out = tmp_path / "val"
    result = train(_small(synth, out, max_videos=None, max_steps=8, save_steps=2, eval_strategy="steps",
                          eval_steps=2, validation_fraction=0.25, load_best_model_at_end=True,
                          metric_for_best_model="video_auc", save_total_limit=2))
    evaluations = [h for h in result.log_history if "eval_video_auc" in h]
    assert [h["step"] for h in evaluations] == [2, 4, 6, 8]
    for h in evaluations:
        assert {"eval_video_ap", "eval_loss", "eval_loss_mil", "eval_loss_global"} <= set(h)
        assert h["eval_videos"] == 6  # a quarter of each kind of the 24 videos, held out whole
    log = (out / "trainer_log.txt").read_text()
    lines = [ln for ln in log.splitlines() if ln.startswith("Validation")]
    assert len(lines) == 4 and all(" video AUC " in ln and " AP " in ln for ln in lines)
    assert "validation: 6 videos: Normal 3" in log
    state = json.loads((out / "checkpoint-8" / "trainer_state.json").read_text())
    best = state["best_model_checkpoint"]
    aucs = [h["eval_video_auc"] for h in evaluations]
    best_step = evaluations[aucs.index(max(aucs))]["step"]  # the first of the best (ties keep the earlier)
    assert Path(best).name == f"checkpoint-{best_step}" and state["best_metric"] == max(aucs)
    assert Path(best).parent == out  # the folder's final place, not the staging one a resume would not find
    assert f"best video_auc {max(aucs):.4f} at checkpoint-{best_step} (loaded" in log
    kept, final = _weights(Path(best)), _weights(result.final_checkpoint)
    for key in kept:
        assert torch.equal(kept[key], final[key]), key
    if best_step != 8:  # the final weights are the best checkpoint's, not the last step's
        last = _weights(out / "checkpoint-8")
        assert any(not torch.equal(last[k], final[k]) for k in final)
    from fgvad.models.video import read_trained_on

    assert len(read_trained_on(result.final_checkpoint)) == 18  # validation videos were not trained on
