"""The model and tokenizer a training run starts from: a checkpoint of any supported backbone
(``fgvad.models.backbones``), or a tiny FG-CLIP v1 / FG-CLIP 2 model from scratch.

Shared by :func:`fgvad.train.train` and ``fgvad bench`` (which freezes layers the same way).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from fgvad.core.constants import FGCLIP2_VIDEO_MAX_PATCHES
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.train.options import TINY_MODELS, TrainConfig

log = logging.getLogger(__name__)

# The offline FG-CLIP 2 tokenizer of a tiny model keeps every training word (it is small).
_TINY_FGCLIP2_MAX_VOCAB = 50_000


def model_family(cfg: TrainConfig) -> str:
    """``fgclip`` or ``fgclip2``: the backbone family ``--model-name-or-path`` names."""
    from fgvad.models.backbones import backbone_kind

    name = cfg.model.model_name_or_path
    if name in TINY_MODELS:
        return "fgclip2" if name == "tiny-fgclip2" else "fgclip"
    folder = Path(name)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint folder not found (use 'tiny' or 'tiny-fgclip2' for a model "
                              "from scratch)")
    return backbone_kind(folder).family


def training_texts(entries: Sequence[Any], prompts: Sequence[str]) -> list[str]:
    texts: list[str] = list(prompts)
    for e in entries:
        texts.append(e.global_caption)
        for r in e.regions:
            texts.append(r.caption)
            texts.extend(r.hard_negatives)
    return texts


def load_or_build_tokenizer(cfg: TrainConfig, entries: Sequence[Any], prompts: Sequence[str]) -> Any:
    """The checkpoint's tokenizer (or ``--tokenizer-path``'s), in the backbone family's format; for a
    tiny model a word-level one of the training texts (deterministic, so every DDP rank builds
    the same one without sharing files)."""
    m = cfg.model
    family = model_family(cfg)
    if family == "fgclip2":
        from fgvad.models.fgclip2_processing import (
            build_offline_fgclip2_tokenizer, has_fgclip2_tokenizer, load_fgclip2_tokenizer,
        )

        has, load = has_fgclip2_tokenizer, load_fgclip2_tokenizer
        build = lambda texts: build_offline_fgclip2_tokenizer(texts, vocab_size=_TINY_FGCLIP2_MAX_VOCAB)  # noqa: E731
    else:
        from fgvad.models.tokenizer import build_offline_tokenizer, has_tokenizer, load_tokenizer

        has, load, build = has_tokenizer, load_tokenizer, build_offline_tokenizer
    if m.tokenizer_path:
        return load(m.tokenizer_path)
    if m.model_name_or_path not in TINY_MODELS:
        if has(m.model_name_or_path):
            return load(m.model_name_or_path)
        raise ConfigError(f"{m.model_name_or_path}: no tokenizer files there; give --tokenizer-path")
    return build(training_texts(entries, prompts))


def tiny_config(cfg: TrainConfig, tokenizer: Any = None) -> Any:
    """The config of ``--model-name-or-path tiny`` (CLIP) or ``tiny-fgclip2`` from the ``--tiny-*`` options."""
    m = cfg.model
    if m.model_name_or_path == "tiny-fgclip2":
        from fgvad.models.fgclip2_config import tiny_fgclip2_config

        vocab = m.tiny_vocab_size or (len(tokenizer) if tokenizer is not None else 1000)
        return tiny_fgclip2_config(width=m.tiny_vision_width, layers=m.tiny_vision_layers, heads=m.tiny_vision_heads,
                                   mlp=m.tiny_vision_width * m.tiny_mlp_ratio, vocab_size=vocab,
                                   patch_size=m.tiny_patch_size)
    from fgvad.models.fgclip import tiny_fgclip_config

    return tiny_fgclip_config(
        vision_width=m.tiny_vision_width, vision_layers=m.tiny_vision_layers, vision_heads=m.tiny_vision_heads,
        image_size=cfg.data.image_size, patch=m.tiny_patch_size, text_width=m.tiny_text_width,
        text_layers=m.tiny_text_layers, text_heads=m.tiny_text_heads, projection_dim=m.tiny_projection_dim,
        vocab_size=m.tiny_vocab_size, mlp_ratio=m.tiny_mlp_ratio)


def loss_type(cfg: TrainConfig, family: str) -> str:
    """``--loss-type``, else the backbone's pre-training loss."""
    from fgvad.models.backbones import BACKBONES, FAMILY_MODEL_TYPE

    return cfg.loss.loss_type or BACKBONES[FAMILY_MODEL_TYPE[family]].default_loss_type


def build_model(cfg: TrainConfig, tokenizer: Any = None) -> Any:
    from fgvad.models.backbones import backbone_from_config
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig, read_video_meta

    m, d = cfg.model, cfg.data
    family = model_family(cfg)
    head = VideoHeadConfig(
        temporal_layers=m.temporal_layers, heads=m.temporal_heads,
        window=m.temporal_window or d.num_frames, context=m.temporal_context, dropout=m.temporal_dropout,
        pooling=m.video_pooling,
        mil_hidden=m.mil_hidden, mil_dropout=m.mil_dropout, frame_chunk=m.frame_chunk,
        frame_standardization=m.frame_standardization,
        standardization_statistics=m.standardization_statistics,
        motion_input=m.motion_input,
        motion_shift_tolerance=m.motion_shift_tolerance,
        patch_anomaly=m.patch_anomaly,
        # FG-CLIP v1 has no logit bias of its own; the sigmoid loss gets one in the heads.
        logit_bias=family == "fgclip" and loss_type(cfg, family) == "sigmoid",
        # Recorded in the checkpoint, so scoring decodes frames as training did.
        max_num_patches=(d.max_num_patches or FGCLIP2_VIDEO_MAX_PATCHES) if family == "fgclip2" else None,
    )
    if m.model_name_or_path in TINY_MODELS:
        model = VideoFGCLIP(backbone_from_config(tiny_config(cfg, tokenizer)), head)
    else:
        folder = Path(m.model_name_or_path)
        if read_video_meta(folder) is not None:
            model = VideoFGCLIP.from_pretrained(folder)  # continue training a video checkpoint
            _check_continued_heads(model, head, d.max_num_patches, folder)
        else:
            model = VideoFGCLIP.from_pretrained(folder, head_config=head)
        if model.image_size and model.image_size != d.image_size:
            log.info("frames are resized from %d to the model's %d px", d.image_size, model.image_size)
    apply_lora(model, cfg)
    apply_freezing(model, cfg)
    return model.train()


def _check_continued_heads(model: Any, wanted: Any, max_num_patches: int | None, folder: Path) -> None:
    if wanted.logit_bias and not model.config.logit_bias:
        raise ConfigError(f"{folder}: its video heads were trained without a sigmoid logit bias; continue it "
                          "with --loss-type softmax")
    if (wanted.frame_standardization, wanted.standardization_statistics) != (
            model.config.frame_standardization, model.config.standardization_statistics):
        log.warning("%s was trained with frame_standardization %s (%s): kept, so its frames look as they did",
                    folder, model.config.frame_standardization, model.config.standardization_statistics)
    if (wanted.motion_input, wanted.motion_shift_tolerance) != (model.config.motion_input,
                                                                model.config.motion_shift_tolerance):
        log.warning("%s was trained with motion_input %s (shift tolerance %d px): kept, so its weights see what "
                    "they were trained on", folder, model.config.motion_input, model.config.motion_shift_tolerance)
    if max_num_patches is not None and model.family == "fgclip2":
        model.config.max_num_patches = max_num_patches  # the run's option wins; saved with the new checkpoint


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
        for mod in model.ops.text_modules(model.clip):
            for p in mod.parameters():
                p.requires_grad_(False)
