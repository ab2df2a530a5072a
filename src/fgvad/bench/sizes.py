"""Model sizes by name, so the bench needs no checkpoint and no ../shared."""

from __future__ import annotations

from typing import Any

from fgvad.core.constants import SHORT_TEXT_LENGTH
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
SIZE_NAMES = ("tiny", *SIZES)


def model_config(size: str) -> Any:
    from fgvad.models.fgclip import clip_config_from_dict, tiny_fgclip_config

    if size == "tiny":
        return tiny_fgclip_config()
    if size not in SIZES:
        raise UsageError(f"--size {size!r}: unknown (use one of {', '.join(SIZE_NAMES)})")
    return clip_config_from_dict(SIZES[size], source=f"bench size {size}")
