"""Frozen image backbones for per-snippet features: one small adapter per backbone family.

An adapter knows how to load a checkpoint folder, at which square size frames are decoded
for it, and how to turn uint8 frames into one image embedding each (the embedding its video
heads consume: for FG-CLIP v1 and CLIP, ``get_image_features``, projected, not normalised,
exactly what :meth:`fgvad.models.video.VideoFGCLIP.encode_frames` computes). Adding a family
is one class with ``kind``, ``__init__(folder, device, frame_batch)``, ``decode_size``,
``embed_dim`` and ``encode(frames)``, registered in :data:`FEATURE_ADAPTERS`. Which family a
folder is, is decided by the one backbone registry (:mod:`fgvad.models.backbones`).

A backbone's identity (kind, path, sha256 of its weight files) is recorded with extracted
features and in the heads-only checkpoints trained on them, so scoring refuses a backbone
whose weights differ from the ones the heads were trained on.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from fgvad.core.constants import DEFAULT_FRAME_BATCH, HEADS_WEIGHTS_NAME, VIDEO_CONFIG_NAME
from fgvad.core.errors import CheckpointError
from fgvad.models.backbones import CONFIG_NAME, backbone_kind
from fgvad.models.device import resolve_device
from fgvad.models.video_config import VideoHeadConfig, read_video_meta


def feature_backbone_kind(folder: str | Path) -> str:
    """The backbone family of a folder (``fgclip``: FG-CLIP v1, CLIP and fgvad video checkpoints
    trained from them; ``fgclip2``: FG-CLIP 2 and SigLIP 2), as the backbone registry decides it."""
    if not (Path(folder) / CONFIG_NAME).is_file():
        raise CheckpointError(f"{folder}: not a backbone checkpoint (no {CONFIG_NAME}); give an FG-CLIP or CLIP "
                              "folder (or an fgvad checkpoint trained from one)")
    return backbone_kind(folder).family


@lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    del size, mtime_ns  # part of the cache key: a rewritten file is hashed again
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 23), b""):
            digest.update(block)
    return digest.hexdigest()


def _weight_files(folder: Path) -> list[Path]:
    # A video checkpoint's heads file is not part of its tower.
    files = sorted(p for p in folder.glob("*.safetensors") if p.name != HEADS_WEIGHTS_NAME)
    if not files:
        raise CheckpointError(f"{folder}: no .safetensors weights")
    return files


def backbone_identity(folder: str | Path) -> dict[str, Any]:
    """``{"kind", "path", "weights": {file name: sha256}}`` of a backbone folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: backbone folder not found")
    kind = feature_backbone_kind(folder)
    weights = {}
    for path in _weight_files(folder):
        stat = path.stat()
        weights[path.name] = _sha256(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    return {"kind": kind, "path": str(folder.resolve()), "weights": weights}


def resolve_recorded_backbone(checkpoint: str | Path, recorded: dict[str, Any],
                              override: str | Path | None = None) -> Path:
    """The backbone folder a heads-only checkpoint names (or ``override``), checked to hold the
    weights the heads were trained on; one-line CheckpointError otherwise."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("path"), str):
        raise CheckpointError(f"{checkpoint}: its backbone record is not an object with a path")
    folder = Path(override) if override is not None else Path(recorded["path"])
    if not folder.is_dir():
        raise CheckpointError(f"{checkpoint}: its backbone {folder} is not there (trained on features of it); "
                              "give the folder where it is now (fgvad score --backbone DIR)")
    kind = recorded.get("kind", "fgclip")
    if kind != "fgclip":
        raise CheckpointError(f"{checkpoint}: heads trained on {kind} features; scoring videos runs FG-CLIP v1/CLIP "
                              "backbones only until that family's video integration lands")
    now = backbone_identity(folder)
    if now["weights"] != recorded.get("weights"):
        raise CheckpointError(f"{checkpoint}: the backbone at {folder} has other weights than the one its heads "
                              "were trained on (sha256 differs); re-extract features and retrain, or point to the "
                              "original backbone")
    return folder


class FGCLIPFeatureBackbone:
    """FG-CLIP v1 and plain CLIP folders (and the tower of an fgvad video checkpoint)."""

    kind: ClassVar[str] = "fgclip"

    def __init__(self, folder: str | Path, device: Any = None, frame_batch: int = DEFAULT_FRAME_BATCH):
        from fgvad.models.fgclip import FGCLIPModel

        # The tower of a video checkpoint sees frames as it was trained to: its VideoHeadConfig,
        # read as the video model reads it (so a key an old checkpoint lacks has the same default).
        meta = read_video_meta(Path(folder)) or {}
        head = VideoHeadConfig.from_dict(meta.get("head_config") or {}, source=str(Path(folder) / VIDEO_CONFIG_NAME))
        if head.motion_input != "none":  # its tower also reads each frame's change since the previous one
            raise CheckpointError(f"{folder}: trained with motion_input {head.motion_input!r}; frozen features are "
                                  "single frames, so they cannot be extracted from it (train on videos instead)")
        self.device = resolve_device(device)  # the one --device rule
        self.model = FGCLIPModel.from_pretrained(folder, device=self.device, load_tokenizer=False).eval()
        self.frame_batch = max(1, int(frame_batch))
        self.standardize = head.frame_standardization
        self.statistics = head.standardization_statistics

    @property
    def decode_size(self) -> int | None:
        """Square size frames are decoded at (whole frame resized, as for training and scoring)."""
        return int(self.model.image_size)

    @property
    def embed_dim(self) -> int:
        return int(self.model.embed_dim)

    def encode(self, frames: Any) -> np.ndarray:
        """uint8 frames (N, S, S, 3) -> float32 (N, D) image embeddings (projected, not normalised)."""
        import contextlib

        import torch

        from fgvad.models.video_backbone import FrameInputs, frames_to_pixels

        frames = torch.as_tensor(frames)
        out = []
        # bf16 on a GPU as in scoring; float32 on the CPU (faster there, and exact).
        autocast = (torch.autocast("cuda", dtype=torch.bfloat16) if self.device.type == "cuda"
                    else contextlib.nullcontext())
        with torch.inference_mode(), autocast:
            for start in range(0, frames.shape[0], self.frame_batch):
                chunk = frames[start:start + self.frame_batch].to(self.device, non_blocking=True)
                pixels = frames_to_pixels(chunk, self.decode_size, dtype=self.model.dtype)
                if self.standardize:
                    pixels = FrameInputs(pixels).standardized(self.statistics).pixel_values
                out.append(self.model.get_image_features(pixels).float().cpu())
        if not out:
            return np.zeros((0, self.embed_dim), dtype=np.float32)
        return torch.cat(out).numpy()


# The FG-CLIP 2 family (FG-CLIP 2, SigLIP 2) joins with one adapter once its frozen-feature path is
# built (NaFlex frames at their own aspect ratio, then get_image_features); until then its folders
# are recognised by the registry and refused in one line.
FEATURE_ADAPTERS: dict[str, type] = {"fgclip": FGCLIPFeatureBackbone}


def load_feature_backbone(folder: str | Path, *, device: Any = None,
                          frame_batch: int = DEFAULT_FRAME_BATCH) -> Any:
    """The frozen-feature adapter of a backbone folder, loaded (see the module docstring)."""
    kind = feature_backbone_kind(folder)
    adapter = FEATURE_ADAPTERS.get(kind)
    if adapter is None:
        raise CheckpointError(f"{folder}: {kind} backbones are not supported for frozen features yet "
                              f"(supported: {', '.join(FEATURE_ADAPTERS)}: FG-CLIP v1 and CLIP folders)")
    return adapter(folder, device=device, frame_batch=frame_batch)
