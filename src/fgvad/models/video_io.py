"""Saving and loading video checkpoints: the backbone's own layout + ``video_heads.safetensors``
+ ``fgvad_video.json`` (head options, the videos trained on, the prompt set trained with); and
heads-only checkpoints (trained on frozen features), whose ``fgvad_video.json`` names the
backbone folder and its weight hashes instead of holding the backbone."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import torch

from fgvad.core.constants import HEADS_WEIGHTS_NAME
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.core.prompts import PromptSet
from fgvad.models.video_config import FORMAT, VIDEO_CONFIG_NAME, VideoHeadConfig, read_video_meta


def save_video_model(model: Any, path: str | Path, trained_on: Sequence[str] | None = None,
                     tokenizer: Any = None, prompts: PromptSet | None = None) -> None:
    """The backbone's layout (FG-CLIP v1 official or FG-CLIP 2 released) + heads + meta (+ peft's
    adapter files when the towers carry LoRA adapters)."""
    from safetensors.torch import save_file

    from fgvad.models.lora import has_adapters, save_adapters

    folder = Path(path)
    model.clip.save_pretrained(folder, tokenizer=tokenizer)
    if has_adapters(model.clip):  # peft's adapter files beside the base weights
        save_adapters(model.clip, folder)
    heads = {k: v.detach().contiguous().cpu() for k, v in model.head_state_dict().items()}
    save_file(heads, str(folder / HEADS_WEIGHTS_NAME), metadata={"format": "pt"})
    meta: dict[str, Any] = {"format": FORMAT, "version": 1, "head_config": asdict(model.config)}
    if trained_on is not None:
        meta["trained_on"] = sorted(set(trained_on))
    if prompts is not None:
        meta["prompts"] = prompts.to_dict()
    (folder / VIDEO_CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")


def save_heads(heads: Any, path: str | Path, *, backbone: dict[str, Any], features: dict[str, Any],
               trained_on: Sequence[str] | None = None) -> None:
    """A heads-only checkpoint: ``video_heads.safetensors`` + ``fgvad_video.json`` naming the
    backbone (its path and weight hashes, :func:`fgvad.models.feature_backbones.backbone_identity`)
    and the snippet sampling of the features it was trained on. Scoring a video loads that
    backbone and runs backbone -> heads (:func:`load_video_model`)."""
    from safetensors.torch import save_file

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in heads.head_state_dict().items()}
    save_file(tensors, str(folder / HEADS_WEIGHTS_NAME), metadata={"format": "pt"})
    meta: dict[str, Any] = {"format": FORMAT, "version": 1, "head_config": asdict(heads.config),
                            "backbone": dict(backbone), "features": dict(features)}
    if trained_on is not None:
        meta["trained_on"] = sorted(set(trained_on))
    (folder / VIDEO_CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")


def load_video_model(cls: type, path: str | Path, head_config: Any = None, *, dtype: Any = None,
                     torch_dtype: Any = None, attn_implementation: str = "sdpa", device: Any = None,
                     backbone: str | Path | None = None) -> Any:
    """A video checkpoint, or any backbone folder (``fgvad.models.backbones``) with fresh heads, or
    a heads-only checkpoint on the backbone it records (``backbone``: where that folder is now)."""
    from fgvad.models.backbones import load_backbone
    from fgvad.models.checkpoint_io import resolve_dtype
    from fgvad.models.feature_backbones import resolve_recorded_backbone
    from fgvad.models.lora import load_adapters

    folder = Path(path)
    meta = read_video_meta(folder)
    tower = folder
    if meta is not None and meta.get("backbone") is not None:
        tower = resolve_recorded_backbone(folder, meta["backbone"], backbone)
    clip = load_backbone(tower, dtype=resolve_dtype(dtype, torch_dtype), attn_implementation=attn_implementation,
                         device=device)
    load_adapters(clip, tower)  # a LoRA checkpoint: its adapters on top of the base weights
    if meta is None:
        return cls(clip, head_config).eval()
    config = VideoHeadConfig.from_dict(meta.get("head_config") or {}, source=str(folder / VIDEO_CONFIG_NAME))
    model = cls(clip, config)
    load_head_state(model, folder / HEADS_WEIGHTS_NAME)
    return model.eval()


def load_head_state(model: Any, heads_file: Path) -> None:
    """Copy ``video_heads.safetensors`` into a model's heads, every key and shape checked."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = heads_file.parent
    if not heads_file.is_file():
        raise CheckpointError(f"{folder}: {VIDEO_CONFIG_NAME} present but {HEADS_WEIGHTS_NAME} is missing")
    try:
        saved = load_file(str(heads_file))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{heads_file}: not a readable safetensors file ({exc})") from None
    expected = model.head_state_dict()
    for key, tensor in expected.items():
        if key not in saved:
            raise CheckpointError(f"{heads_file}: missing key {key}")
        if saved[key].shape != tensor.shape:
            raise CheckpointError(
                f"{heads_file}: key {key} has shape {list(saved[key].shape)}, expected {list(tensor.shape)}"
            )
    for key in saved:
        if key not in expected:
            raise CheckpointError(f"{heads_file}: unexpected key {key}")
    with torch.no_grad():
        for key, tensor in expected.items():
            tensor.copy_(saved[key])


def read_trained_on(path: str | Path) -> list[str]:
    """The video keys stored by ``save_pretrained(..., trained_on=...)``; [] when none were stored."""
    meta = read_video_meta(Path(path))
    if meta is None:
        return []
    keys = meta.get("trained_on") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointError(f"{Path(path) / VIDEO_CONFIG_NAME}: trained_on must be a list of strings")
    return keys


def read_prompt_set(path: str | Path) -> PromptSet | None:
    """The prompt set stored by ``save_pretrained(..., prompts=...)``; None when none was stored
    (a plain backbone folder, a heads-only checkpoint, or a checkpoint written before prompts were stored)."""
    meta = read_video_meta(Path(path))
    if meta is None or meta.get("prompts") is None:
        return None
    try:
        return PromptSet.from_dict(meta["prompts"], source=f"{Path(path) / VIDEO_CONFIG_NAME}: prompts")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None


__all__ = ["HEADS_WEIGHTS_NAME", "VIDEO_CONFIG_NAME", "load_head_state", "load_video_model", "read_prompt_set",
           "read_trained_on", "read_video_meta", "save_heads", "save_video_model"]
