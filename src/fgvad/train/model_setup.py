"""The model and tokenizer a training run starts from: a checkpoint, or a tiny model from scratch.

Shared by :func:`fgvad.train.train` and ``fgvad bench`` (which freezes layers the same way).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.train.options import TrainConfig

log = logging.getLogger(__name__)


def load_or_build_tokenizer(cfg: TrainConfig, entries: Sequence[Any], prompts: Sequence[str]) -> Any:
    from fgvad.models.tokenizer import build_offline_tokenizer, has_tokenizer, load_tokenizer

    m = cfg.model
    if m.tokenizer_path:
        return load_tokenizer(m.tokenizer_path)
    if m.model_name_or_path != "tiny":
        if has_tokenizer(m.model_name_or_path):
            return load_tokenizer(m.model_name_or_path)
        raise ConfigError(f"{m.model_name_or_path}: no tokenizer files there; give --tokenizer-path")
    # A tiny model from scratch: a word-level tokenizer of the training texts (deterministic,
    # so every DDP rank builds the same one without sharing files).
    texts: list[str] = list(prompts)
    for e in entries:
        texts.append(e.global_caption)
        for r in e.regions:
            texts.append(r.caption)
            texts.extend(r.hard_negatives)
    return build_offline_tokenizer(texts)


def tiny_config(cfg: TrainConfig) -> Any:
    """The CLIP config of ``--model-name-or-path tiny`` from the ``--tiny-*`` options."""
    from fgvad.models.fgclip import tiny_fgclip_config

    m = cfg.model
    return tiny_fgclip_config(
        vision_width=m.tiny_vision_width, vision_layers=m.tiny_vision_layers, vision_heads=m.tiny_vision_heads,
        image_size=cfg.data.image_size, patch=m.tiny_patch_size, text_width=m.tiny_text_width,
        text_layers=m.tiny_text_layers, text_heads=m.tiny_text_heads, projection_dim=m.tiny_projection_dim,
        vocab_size=m.tiny_vocab_size, mlp_ratio=m.tiny_mlp_ratio)


def build_model(cfg: TrainConfig) -> Any:
    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig, read_video_meta

    m, d = cfg.model, cfg.data
    head = VideoHeadConfig(
        temporal_layers=m.temporal_layers, heads=m.temporal_heads,
        window=m.temporal_window or d.num_frames, dropout=m.temporal_dropout, pooling=m.video_pooling,
        mil_hidden=m.mil_hidden, mil_dropout=m.mil_dropout, frame_chunk=m.frame_chunk,
    )
    if m.model_name_or_path == "tiny":
        model = VideoFGCLIP(FGCLIPModel.from_config(tiny_config(cfg)), head)
    else:
        folder = Path(m.model_name_or_path)
        if not folder.is_dir():
            raise CheckpointError(f"{folder}: checkpoint folder not found (use 'tiny' for a model from scratch)")
        if read_video_meta(folder) is not None:
            model = VideoFGCLIP.from_pretrained(folder)  # continue training a video checkpoint
        else:
            model = VideoFGCLIP.from_pretrained(folder, head_config=head)
        if model.image_size != d.image_size:
            log.info("frames are resized from %d to the model's %d px", d.image_size, model.image_size)
    apply_lora(model, cfg)
    apply_freezing(model, cfg)
    return model.train()


def apply_lora(model: Any, cfg: TrainConfig) -> None:
    """``--lora``: adapters on both towers (kept when the checkpoint already has them); without
    it, adapters a checkpoint carries are merged so that full fine-tuning goes on from them."""
    from fgvad.models.lora import LoraSettings, add_adapters, has_adapters, merge_adapters

    m = cfg.model
    if m.lora and not has_adapters(model.clip):
        add_adapters(model.clip, LoraSettings(r=m.lora_r, alpha=m.lora_alpha, dropout=m.lora_dropout,
                                              target=tuple(m.lora_target)))
    elif not m.lora and has_adapters(model.clip):
        merge_adapters(model.clip)


def freeze_vision_layers(video_model: Any, count: int) -> None:
    """``--freeze-vision-layers``: freeze the patch embedding and the first ``count`` vision layers.

    This changes what is trained; ``fgvad bench`` uses it as a named switch only.
    """
    vision = video_model.clip.vision_model
    layers = vision.encoder.layers
    if count > len(layers):
        raise ConfigError(f"option --freeze-vision-layers: {count} exceeds the {len(layers)} vision layers")
    if count <= 0:
        return
    for p in vision.embeddings.parameters():
        p.requires_grad_(False)
    for layer in layers[:count]:
        for p in layer.parameters():
            p.requires_grad_(False)


def apply_freezing(model: Any, cfg: TrainConfig) -> None:
    m = cfg.model
    freeze_vision_layers(model, m.freeze_vision_layers)
    if m.freeze_text:
        for mod in (model.clip.text_model, model.clip.text_projection, model.clip.text_filip_projection):
            for p in mod.parameters():
                p.requires_grad_(False)
