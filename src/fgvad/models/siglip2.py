"""The original SigLIP 2 NaFlex model (``model_type`` "siglip2", e.g. google/siglip2-base-patch16-naflex
saved locally) as an :class:`~fgvad.models.fgclip2.FGCLIP2Model`: the baseline of the FG-CLIP 2 comparison.

The checkpoint is read by transformers' own ``Siglip2Model.from_pretrained`` (safetensors
only, local files only); its towers and ``logit_scale``/``logit_bias`` become the FG-CLIP 2
model's, unchanged, so everything SigLIP 2 itself computes is exact:

- image features (attention-pooling head) and ``short``-walk text features
  (``text_model.head``) are SigLIP 2's, so zero-shot prompt scores are SigLIP 2's own
  (sigmoid of ``exp(logit_scale) * cos + logit_bias``);

The FG-CLIP 2 extras SigLIP 2 does not have are derived from its weights
(:meth:`FGCLIP2Model.init_fgclip2_extras`), the way fine-tuning starts from SigLIP 2:

- ``box`` and ``long`` walks: heads copied from ``text_model.head``; the long walk's
  position tables are the 64-row table with rows >= 20 stretched linearly to 196;
- dense features: the pooling head's weights used as self-attention over the patch tokens
  (an approximation: SigLIP 2 has no dense head, so its heatmaps are rough).

Saving writes the FG-CLIP 2 layout (``model_type`` "fgclip2"): after fine-tuning the
extras are trained weights, and the folder loads as FG-CLIP 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fgvad.core.errors import CheckpointError
from fgvad.models.checkpoint_io import (
    CONFIG_NAME, add_placeholders, build_model, load_strictly, read_json_object, resolve_checkpoint_folder, resolve_dtype, weights_files,
)
from fgvad.models.fgclip2 import FGCLIP2_EXTRA_PREFIXES, FGCLIP2Model
from fgvad.models.fgclip2_config import MODEL_TYPE, FGCLIP2Config, fgclip2_config_from_dict

SIGLIP2_MODEL_TYPE = "siglip2"


def siglip2_as_fgclip2_config(raw: dict[str, Any], source: str = CONFIG_NAME) -> FGCLIP2Config:
    """An FG-CLIP 2 config with a SigLIP 2 ``config.json``'s towers (default long-text geometry)."""
    if raw.get("model_type") != SIGLIP2_MODEL_TYPE:
        raise CheckpointError(f"{source}: model_type is {raw.get('model_type')!r}, a SigLIP 2 checkpoint has "
                              f"{SIGLIP2_MODEL_TYPE!r}")
    towers = {name: {k: v for k, v in (raw.get(name) or {}).items() if k != "model_type"}
              for name in ("text_config", "vision_config")}
    return fgclip2_config_from_dict({"model_type": MODEL_TYPE, **towers}, source=source)


def load_siglip2(path: str | Path, *, dtype: Any = None, attn_implementation: str = "sdpa", device: Any = None,
                 load_tokenizer: bool = True) -> FGCLIP2Model:
    """A SigLIP 2 folder as an :class:`FGCLIP2Model` (see the module docstring), in eval mode."""
    from transformers import Siglip2Model

    folder = resolve_checkpoint_folder(path)
    config = siglip2_as_fgclip2_config(read_json_object(folder, CONFIG_NAME), source=str(folder / CONFIG_NAME))
    weights_files(folder)  # pickle-only or missing weights: fgvad's one-line error, before transformers'
    kwargs: dict[str, Any] = {"use_safetensors": True, "local_files_only": True,
                              "attn_implementation": attn_implementation}
    resolved = resolve_dtype(dtype)
    if resolved is not None:
        kwargs["dtype"] = resolved
    try:
        siglip = Siglip2Model.from_pretrained(str(folder), **kwargs)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise CheckpointError(f"{folder}: cannot load as SigLIP 2 ({str(exc).splitlines()[0]})") from None
    tensors = dict(siglip.state_dict())
    model = build_model(FGCLIP2Model, config, attn_implementation=attn_implementation, device="meta")
    extras = [key for key in model.state_dict() if key.startswith(FGCLIP2_EXTRA_PREFIXES)]
    add_placeholders(model, tensors, extras)  # derived from the SigLIP 2 weights right below
    model = load_strictly(model, tensors, folder, "a SigLIP 2 model", device=device)
    model.init_fgclip2_extras()
    model.loaded_from = SIGLIP2_MODEL_TYPE
    if load_tokenizer:
        model.attach_tokenizer(folder)
    return model.eval()


__all__ = ["SIGLIP2_MODEL_TYPE", "load_siglip2", "siglip2_as_fgclip2_config"]
