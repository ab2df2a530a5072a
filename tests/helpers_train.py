"""Options of a training run small enough for tests to take seconds on a CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def tiny_run_options(synth: Path, out: Path, **extra: Any) -> dict[str, Any]:
    """A 1-layer 32-wide model on 4 frames of 32 px from the synthetic set in ``synth``, writing to ``out``."""
    options: dict[str, Any] = {
        "model_name_or_path": "tiny", "tiny_vision_width": 32, "tiny_vision_layers": 1, "tiny_vision_heads": 2,
        "tiny_patch_size": 8, "tiny_text_width": 32, "tiny_text_layers": 1, "tiny_text_heads": 2,
        "tiny_projection_dim": 32, "temporal_layers": 1, "temporal_heads": 2, "temporal_dropout": 0.0,
        "mil_hidden": 16, "mil_dropout": 0.0, "num_frames": 4, "image_size": 32, "max_boxes": 2,
        "data_path": str(synth / "train.json"), "video_root": str(synth / "videos"),
        "output_dir": str(out), "learning_rate": 1e-3, "per_device_train_batch_size": 2,
        "logging_steps": 1, "use_cpu": True, "dataloader_num_workers": 0,
        "report_to": "none", "disable_tqdm": True,
    }
    options.update(extra)
    return options
