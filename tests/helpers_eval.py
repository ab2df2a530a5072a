"""Tiny real checkpoints for the scoring and evaluation tests (random weights, offline tokenizer)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

IMAGE_SIZE = 32


def build_tiny_checkpoints(folder: Path, trained_on: Sequence[str] = ()) -> tuple[Path, Path]:
    """(trained fgvad video checkpoint, untouched FG-CLIP checkpoint), both with a tokenizer."""
    import torch

    from fgvad.core.prompts import default_prompts
    from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
    from fgvad.models.tokenizer import build_offline_tokenizer
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig

    torch.manual_seed(0)
    clip = FGCLIPModel.from_config(tiny_fgclip_config(image_size=IMAGE_SIZE, patch=8, layers=1))
    tokenizer = build_offline_tokenizer(default_prompts())
    base = folder / "untouched"
    clip.save_pretrained(base, tokenizer=tokenizer)
    model = VideoFGCLIP(clip, VideoHeadConfig(window=4, heads=4, temporal_layers=1))
    with torch.no_grad():  # a non-zero gate so the temporal module actually contributes
        model.temporal.gate.fill_(0.5)
    trained = folder / "trained"
    model.save_pretrained(trained, trained_on=list(trained_on), tokenizer=tokenizer)
    return trained, base
