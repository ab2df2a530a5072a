"""Model sizes by name, so the bench needs no checkpoint and no ../shared.

CLIP sizes (FG-CLIP v1) are CLIP config dicts; FG-CLIP 2 sizes are FG-CLIP 2 config dicts
(``model_type`` "fgclip2"). :func:`frame_geometry` says how a size's frames are shaped.
"""

from __future__ import annotations

from typing import Any

from fgvad.core.constants import (
    FGCLIP2_LONG_TEXT_LENGTH, FGCLIP2_SHORT_TEXT_LENGTH, FGCLIP2_VIDEO_MAX_PATCHES, SHORT_TEXT_LENGTH,
)
from fgvad.core.errors import UsageError

# vit-b16 is the released fg-clip-base config (quick_gelu, 77 text positions); vit-l14-336
# CLIP ViT-L/14@336. Released configs, copied as they are (CLIP's vocabulary of 49408).
SIZES: dict[str, dict[str, Any]] = {
    "vit-b16": {
        "projection_dim": 512,
        "text_config": {"hidden_size": 512, "intermediate_size": 2048, "num_hidden_layers": 12,
                        "num_attention_heads": 8, "max_position_embeddings": SHORT_TEXT_LENGTH,
                        "vocab_size": 49408, "hidden_act": "quick_gelu", "projection_dim": 512},
        "vision_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                          "num_attention_heads": 12, "image_size": 224, "patch_size": 16,
                          "hidden_act": "quick_gelu", "projection_dim": 512},
    },
    "vit-l14-336": {
        "projection_dim": 768,
        "text_config": {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                        "num_attention_heads": 12, "max_position_embeddings": SHORT_TEXT_LENGTH,
                        "vocab_size": 49408, "hidden_act": "quick_gelu", "projection_dim": 768},
        "vision_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 24,
                          "num_attention_heads": 16, "image_size": 336, "patch_size": 14,
                          "hidden_act": "quick_gelu", "projection_dim": 768},
    },
}
# The sizes of google/siglip2-base-patch16-naflex (FG-CLIP 2 base is built on it): width 768,
# 12 layers, 12 heads, MLP 3072, patch 16, a 16x16 position grid, Gemma's 256,000-token
# vocabulary, 64 short/box and 196 long text positions.
_SIGLIP2_BASE_TOWER = {"hidden_size": 768, "intermediate_size": 3072, "num_hidden_layers": 12,
                       "num_attention_heads": 12}
FGCLIP2_SIZES: dict[str, dict[str, Any]] = {
    "fgclip2-base": {
        "model_type": "fgclip2",
        "text_config": {**_SIGLIP2_BASE_TOWER, "vocab_size": 256000, "projection_size": 768,
                        "max_position_embeddings": FGCLIP2_SHORT_TEXT_LENGTH, "keep_len": 20,
                        "longtext_len": FGCLIP2_LONG_TEXT_LENGTH},
        "vision_config": {**_SIGLIP2_BASE_TOWER, "patch_size": 16, "num_patches": 256},
    },
}
SIZE_NAMES = ("tiny", "tiny-fgclip2", *SIZES, *FGCLIP2_SIZES)
# Source frames of the synthetic batches (train, infer, baseline): UCF-Crime's 320x240.
SOURCE_HEIGHT_WIDTH = (240, 320)


def model_config(size: str) -> Any:
    from fgvad.models.fgclip import clip_config_from_dict, tiny_fgclip_config
    from fgvad.models.fgclip2_config import fgclip2_config_from_dict, tiny_fgclip2_config

    if size == "tiny":
        return tiny_fgclip_config()
    if size == "tiny-fgclip2":
        return tiny_fgclip2_config(patch_size=8)
    if size in FGCLIP2_SIZES:
        return fgclip2_config_from_dict(FGCLIP2_SIZES[size], source=f"bench size {size}")
    if size not in SIZES:
        raise UsageError(f"--size {size!r}: unknown (use one of {', '.join(SIZE_NAMES)})")
    return clip_config_from_dict(SIZES[size], source=f"bench size {size}")


def is_naflex(config: Any) -> bool:
    return not hasattr(config, "projection_dim")  # FG-CLIP 2 configs have the SigLIP 2 towers' geometry


def frame_geometry(config: Any) -> Any:
    """Frames of a size: square at the CLIP image size, or NaFlex at fgvad's default video budget."""
    from fgvad.data.geometry import FrameGeometry

    if is_naflex(config):
        return FrameGeometry.naflex(config.vision_config.patch_size, FGCLIP2_VIDEO_MAX_PATCHES)
    return FrameGeometry.square(config.vision_config.image_size)


def frame_hw(config: Any) -> tuple[int, int]:
    """(height, width) of a synthetic frame of this size (from a 320x240 source for NaFlex)."""
    return frame_geometry(config).frame_size(*SOURCE_HEIGHT_WIDTH)
