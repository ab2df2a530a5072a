"""``VideoHeadConfig``: the options of the video model's temporal module, heads and frame inputs,
saved in ``fgvad_video.json`` (read by :mod:`fgvad.models.video` and :mod:`fgvad.models.video_io`);
and :func:`read_video_meta`, which reads that file (also for the frozen-feature adapters, which
must see frames as the checkpoint was trained to)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from fgvad.core.constants import MOTION_INPUTS, STANDARDIZATION_STATISTICS as _STATISTICS, VIDEO_CONFIG_NAME
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.core.io import read_format_json

FORMAT = "fgvad-video"

_POOLINGS = ("attention", "mean")
_CONTEXTS = ("video", "window")


@dataclass
class VideoHeadConfig:
    """Options of the temporal module, the heads and the frame inputs (saved in ``fgvad_video.json``)."""

    temporal_layers: int = 2
    heads: int = 8
    window: int = 64  # the training clip length; longer videos are processed in windows of it
    context: str = "window"  # how inference cuts long sequences: "video" (interleaved) or "window"
    dropout: float = 0.1
    mlp_ratio: float = 4.0
    pooling: str = "attention"  # "attention" (starts as the mean) or "mean"
    mil_hidden: int = 256
    mil_dropout: float = 0.1
    frame_chunk: int = 64  # frames per vision-tower call in encode_frames
    # A learnable logit bias of the video model, for sigmoid losses on a backbone without one (FG-CLIP v1).
    logit_bias: bool = False
    # Each frame standardised (its channel centres removed, one scale over its pixels) before the vision
    # tower, in training and scoring alike: exposure-invariant input for models trained from scratch.
    frame_standardization: bool = False
    # How that standardisation measures a frame ("mean_std" or "median_mad", see
    # FrameInputs.standardized). Checkpoints saved before the choice existed used mean and std.
    standardization_statistics: str = "mean_std"
    # What the vision tower sees of motion (MOTION_INPUTS): "none", or "frame_difference": each frame's
    # luma change since the clip's previous frame, added to its patch embeddings through a patch
    # embedding of its own that starts at zero (FG-CLIP v1 / CLIP backbones). Checkpoints saved before
    # the option existed saw no motion.
    motion_input: str = "none"
    # Pixels (at the model's input) of camera shake or pan a frame difference ignores (see
    # FrameInputs.with_frame_differences); 0 = the plain difference, as before the option existed.
    motion_shift_tolerance: int = 0
    # A patch anomaly head: an anomaly logit for every patch of a frame, from its dense feature; the
    # frame's highest one is added to the frame's MIL logit (0 at the start), so an event in a few
    # patches of a busy frame is not averaged away by the whole-frame embedding. Its supervision is the
    # region anomaly loss (and the MIL loss). Checkpoints saved before it existed had none.
    patch_anomaly: bool = False
    # NaFlex backbones: patches per frame the model was trained with (scoring uses it); None = the default.
    max_num_patches: int | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.temporal_layers >= 0, "temporal_layers must be >= 0"),
            (self.heads >= 1, "heads must be >= 1"),
            (self.window >= 1, "window must be >= 1"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (0.0 <= self.mil_dropout < 1.0, "mil_dropout must be in [0, 1)"),
            (self.mlp_ratio > 0, "mlp_ratio must be > 0"),
            (self.pooling in _POOLINGS, f"pooling must be one of {', '.join(_POOLINGS)}"),
            (self.context in _CONTEXTS, f"context must be one of {', '.join(_CONTEXTS)}"),
            (self.mil_hidden >= 1, "mil_hidden must be >= 1"),
            (self.standardization_statistics in _STATISTICS,
             f"standardization_statistics must be one of {', '.join(_STATISTICS)}"),
            (self.motion_input in MOTION_INPUTS, f"motion_input must be one of {', '.join(MOTION_INPUTS)}"),
            (self.motion_shift_tolerance >= 0, "motion_shift_tolerance must be >= 0"),
            (self.frame_chunk >= 1, "frame_chunk must be >= 1"),
            (self.max_num_patches is None or self.max_num_patches >= 1, "max_num_patches must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"video head config: {message}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "video head config") -> "VideoHeadConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown video head option {unknown[0]!r}")
        return cls(**raw)


def read_video_meta(folder: Path) -> dict[str, Any] | None:
    """The fgvad video config of a checkpoint folder; None for a plain backbone folder."""
    return read_format_json(Path(folder) / VIDEO_CONFIG_NAME, FORMAT, error=CheckpointError,
                            not_it=f"not an fgvad video config (format must be {FORMAT!r})")


__all__ = ["FORMAT", "VIDEO_CONFIG_NAME", "VideoHeadConfig", "read_video_meta"]
