"""FG-CLIP 2 configuration: the two SigLIP 2 tower configs plus the long-text geometry.

Reads and writes the released ``config.json`` layout (``model_type`` "fgclip2", sub-configs
``fgclip2_text_model`` / ``fgclip2_vision_model``). Every size the model uses comes from here,
so any checkpoint's geometry works (nothing assumes the released or the fixture's sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import Siglip2TextConfig, Siglip2VisionConfig

from fgvad.core.constants import FGCLIP2_LONG_TEXT_LENGTH, FGCLIP2_SHORT_TEXT_LENGTH
from fgvad.core.errors import CheckpointError
from fgvad.models.checkpoint_io import CONFIG_NAME, read_json_object

MODEL_TYPE = "fgclip2"
ARCHITECTURE = "Fgclip2Model"
TEXT_MODEL_TYPE = "fgclip2_text_model"
VISION_MODEL_TYPE = "fgclip2_vision_model"
WALK_TYPES = ("short", "box", "long")
LONG_TEXT_KEEP_POSITIONS = 20  # long walk: positions below this come from position_embedding_ori

# Config keys the released layout writes, per tower (upstream omits keys equal to its class
# defaults; these are the ones that differ or that it always writes).
_TEXT_KEYS = (
    "attention_dropout", "hidden_act", "hidden_size", "intermediate_size", "keep_len", "layer_norm_eps",
    "longtext_len", "max_position_embeddings", "num_attention_heads", "num_hidden_layers",
    "projection_size", "vocab_size",
)
_VISION_KEYS = (
    "attention_dropout", "hidden_act", "hidden_size", "intermediate_size", "layer_norm_eps",
    "num_attention_heads", "num_channels", "num_hidden_layers", "num_patches", "patch_size",
)
_SIGLIP2_TEXT_FIELDS = tuple(k for k in _TEXT_KEYS if k not in ("keep_len", "longtext_len"))


@dataclass
class FGCLIP2Config:
    """The two SigLIP 2 tower configs plus FG-CLIP 2's long-text geometry.

    ``extra``/``text_extra``/``vision_extra`` keep config.json entries fgvad does not
    interpret (e.g. a Hub config's ``auto_map``), so that saving writes them back.
    """

    text_config: Siglip2TextConfig
    vision_config: Siglip2VisionConfig
    keep_len: int = LONG_TEXT_KEEP_POSITIONS
    longtext_len: int = FGCLIP2_LONG_TEXT_LENGTH
    initializer_factor: float = 1.0
    transformers_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    text_extra: dict[str, Any] = field(default_factory=dict)
    vision_extra: dict[str, Any] = field(default_factory=dict)

    @property
    def short_text_length(self) -> int:
        """Token length of the short and box walks (the position table's rows)."""
        return int(self.text_config.max_position_embeddings)

    @property
    def long_text_length(self) -> int:
        return int(self.longtext_len)

    def to_dict(self, dtype: torch.dtype = torch.float32) -> dict[str, Any]:
        """The released ``config.json`` layout (what upstream ``save_pretrained`` writes)."""
        import transformers

        text = {**self.text_extra, **{k: getattr(self.text_config, k) for k in _SIGLIP2_TEXT_FIELDS}}
        text.update(keep_len=self.keep_len, longtext_len=self.longtext_len, model_type=TEXT_MODEL_TYPE)
        vision = {**self.vision_extra, **{k: getattr(self.vision_config, k) for k in _VISION_KEYS}}
        vision["model_type"] = VISION_MODEL_TYPE
        return {
            **self.extra,
            "architectures": [ARCHITECTURE],
            "dtype": str(dtype).replace("torch.", ""),
            "initializer_factor": self.initializer_factor,
            "model_type": MODEL_TYPE,
            "text_config": text,
            "transformers_version": self.transformers_version or transformers.__version__,
            "vision_config": vision,
        }


def fgclip2_config_from_dict(raw: Any, source: str = CONFIG_NAME) -> FGCLIP2Config:
    """Build an :class:`FGCLIP2Config` from a released ``config.json`` dict (keyed on ``model_type``)."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{source}: expected a JSON object")
    if raw.get("model_type") != MODEL_TYPE:
        raise CheckpointError(f"{source}: model_type is {raw.get('model_type')!r}, an FG-CLIP 2 checkpoint has {MODEL_TYPE!r}")
    text, vision = raw.get("text_config") or {}, raw.get("vision_config") or {}
    if not isinstance(text, dict) or not isinstance(vision, dict):
        raise CheckpointError(f"{source}: text_config and vision_config must be JSON objects")
    known_top = {"architectures", "dtype", "torch_dtype", "initializer_factor", "model_type", "text_config",
                 "transformers_version", "vision_config"}
    try:
        # Token ids are the tokenizer's business (the model treats no id specially); the CLIP
        # ids upstream's class carries as defaults would only trip transformers' range checks.
        text_config = Siglip2TextConfig(**{k: text[k] for k in _SIGLIP2_TEXT_FIELDS if text.get(k) is not None},
                                        pad_token_id=None, bos_token_id=None, eos_token_id=None)
        vision_config = Siglip2VisionConfig(**{k: vision[k] for k in _VISION_KEYS if vision.get(k) is not None})
        config = FGCLIP2Config(
            text_config=text_config, vision_config=vision_config,
            keep_len=int(text.get("keep_len", LONG_TEXT_KEEP_POSITIONS)),
            longtext_len=int(text.get("longtext_len", FGCLIP2_LONG_TEXT_LENGTH)),
            initializer_factor=float(raw.get("initializer_factor", 1.0)),
            transformers_version=raw.get("transformers_version"),
            extra={k: v for k, v in raw.items() if k not in known_top},
            text_extra={k: v for k, v in text.items() if k not in _TEXT_KEYS and k != "model_type"},
            vision_extra={k: v for k, v in vision.items() if k not in _VISION_KEYS and k != "model_type"},
        )
    except (TypeError, ValueError) as exc:  # transformers' strict config validation
        raise CheckpointError(f"{source}: invalid FG-CLIP 2 config ({str(exc).splitlines()[0]})") from None
    _check_geometry(config, source)
    return config


def _check_geometry(config: FGCLIP2Config, source: str) -> None:
    text, vision = config.text_config, config.vision_config
    for name, tower in (("text_config", text), ("vision_config", vision)):
        if tower.hidden_size % tower.num_attention_heads:
            raise CheckpointError(f"{source}: {name}.hidden_size {tower.hidden_size} is not divisible by "
                                  f"num_attention_heads {tower.num_attention_heads}")
    side = math.isqrt(int(vision.num_patches))
    if side * side != vision.num_patches:
        raise CheckpointError(f"{source}: vision_config.num_patches {vision.num_patches} is not a square (position grid)")
    if not 0 <= config.keep_len <= config.longtext_len:
        raise CheckpointError(f"{source}: text_config.keep_len {config.keep_len} must lie in [0, longtext_len]")
    widths = {text.hidden_size, text.projection_size, vision.hidden_size}
    if len(widths) != 1:
        # Image and text features are compared by dot product: all widths must agree.
        raise CheckpointError(f"{source}: text hidden_size, projection_size and vision hidden_size differ ({sorted(widths)})")


def tiny_fgclip2_config(*, width: int = 64, layers: int = 2, heads: int = 4, mlp: int = 128,
                        vocab_size: int = 1000, patch_size: int = 16, position_grid: int = 8,
                        short_length: int = FGCLIP2_SHORT_TEXT_LENGTH,
                        long_length: int = FGCLIP2_LONG_TEXT_LENGTH,
                        keep_len: int = LONG_TEXT_KEEP_POSITIONS) -> FGCLIP2Config:
    """A small FG-CLIP 2 config for tests and the CPU demo (the tiny fixture's sizes by default)."""
    towers = dict(hidden_size=width, intermediate_size=mlp, num_hidden_layers=layers, num_attention_heads=heads)
    return fgclip2_config_from_dict(
        {
            "model_type": MODEL_TYPE,
            "text_config": {**towers, "vocab_size": vocab_size, "max_position_embeddings": short_length,
                            "projection_size": width, "keep_len": keep_len, "longtext_len": long_length},
            "vision_config": {**towers, "patch_size": patch_size, "num_patches": position_grid ** 2},
        },
        source="tiny_fgclip2_config",
    )


def read_fgclip2_config(folder: str | Path) -> FGCLIP2Config:
    """The :class:`FGCLIP2Config` of a checkpoint folder's ``config.json``."""
    raw = read_json_object(folder, CONFIG_NAME)
    return fgclip2_config_from_dict(raw, source=str(Path(folder) / CONFIG_NAME))


__all__ = [
    "FGCLIP2Config", "MODEL_TYPE", "WALK_TYPES", "LONG_TEXT_KEEP_POSITIONS", "fgclip2_config_from_dict",
    "read_fgclip2_config", "tiny_fgclip2_config",
]
