"""The backbones fgvad opens, keyed by the ``model_type`` of a checkpoint's ``config.json``.

One registry, one loader: every command that opens a checkpoint (train, score, eval, bench,
data check) goes through :func:`load_backbone` / :func:`backbone_kind`, never through an
if/else of its own.

| model_type | what | class | family |
| --- | --- | --- | --- |
| ``clip`` | FG-CLIP v1 (official layout) or a plain CLIP checkpoint (extras initialised) | ``FGCLIPModel`` | ``fgclip`` |
| ``fgclip2`` | FG-CLIP 2 (released layout) | ``FGCLIP2Model`` | ``fgclip2`` |
| ``siglip2`` | the original SigLIP 2 NaFlex model, the baseline of FG-CLIP 2 (extras derived) | ``FGCLIP2Model`` | ``fgclip2`` |

The family decides the video interface (square CLIP pixels or NaFlex patches, text walks,
loss parameters, prompt probabilities; :mod:`fgvad.models.video_backbone`). This module
imports no torch, so ``fgvad data check --model`` and ``--help`` stay fast.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgvad.core.constants import LOSS_TYPES
from fgvad.core.errors import CheckpointError, UsageError
from fgvad.core.io import read_json

CONFIG_NAME = "config.json"


@dataclass(frozen=True)
class BackboneKind:
    """What fgvad knows about one ``model_type``."""

    model_type: str
    family: str  # "fgclip" (CLIP towers, square pixels) | "fgclip2" (SigLIP 2 towers, NaFlex patches)
    label: str
    bilingual: bool  # reads Chinese captions as well as English ones (no translation needed)
    default_loss_type: str  # the contrastive loss the model was pre-trained with
    loader: str  # "module:attribute" of the function that loads a folder of this type

    def load(self, folder: str | Path, **kwargs: Any) -> Any:
        module, _, attribute = self.loader.partition(":")
        target: Any = importlib.import_module(module)
        for part in attribute.split("."):
            target = getattr(target, part)
        return target(folder, **kwargs)


BACKBONES: dict[str, BackboneKind] = {kind.model_type: kind for kind in (
    BackboneKind("clip", "fgclip", "FG-CLIP v1 / CLIP", False, "softmax",
                 "fgvad.models.fgclip:FGCLIPModel.from_pretrained"),
    BackboneKind("fgclip2", "fgclip2", "FG-CLIP 2", True, "sigmoid",
                 "fgvad.models.fgclip2:FGCLIP2Model.from_pretrained"),
    # SigLIP 2 is multilingual; fgvad's caption check relies on it for Chinese, as for FG-CLIP 2.
    BackboneKind("siglip2", "fgclip2", "SigLIP 2", True, "sigmoid", "fgvad.models.siglip2:load_siglip2"),
)}
# A model built from a config (not loaded) reports its family's own type.
FAMILY_MODEL_TYPE = {"fgclip": "clip", "fgclip2": "fgclip2"}


def read_model_type(folder: str | Path) -> str:
    """The ``model_type`` of a checkpoint folder's ``config.json`` (a supported one, else a one-line error)."""
    path = Path(folder)
    if not path.is_dir():
        raise CheckpointError(f"{path}: checkpoint folder not found")
    raw = read_json(path / CONFIG_NAME, what=CONFIG_NAME, error=CheckpointError)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path / CONFIG_NAME}: expected a JSON object")
    model_type = raw.get("model_type")
    if model_type not in BACKBONES:
        raise CheckpointError(f"{path / CONFIG_NAME}: model_type {model_type!r} is not supported "
                              f"(fgvad loads {', '.join(BACKBONES)})")
    return str(model_type)


def backbone_kind(model_or_folder: Any) -> BackboneKind:
    """The :class:`BackboneKind` of a checkpoint folder, of a ``model_type`` name, or of a loaded model."""
    if isinstance(model_or_folder, str) and model_or_folder in BACKBONES:
        return BACKBONES[model_or_folder]
    if isinstance(model_or_folder, (str, Path)):
        return BACKBONES[read_model_type(model_or_folder)]
    loaded_from = getattr(model_or_folder, "loaded_from", None)
    if loaded_from in BACKBONES:
        return BACKBONES[loaded_from]
    family = getattr(model_or_folder, "family", None)
    if family not in FAMILY_MODEL_TYPE:
        raise TypeError(f"{type(model_or_folder).__name__} is not an fgvad backbone")
    return BACKBONES[FAMILY_MODEL_TYPE[family]]


def resolve_model_choice(value: str) -> BackboneKind:
    """``--model`` of the data commands: a checkpoint folder or a ``model_type`` name."""
    if value in BACKBONES:
        return BACKBONES[value]
    if not Path(value).is_dir():
        raise UsageError(f"--model {value!r}: neither a checkpoint folder nor one of {', '.join(BACKBONES)}")
    return backbone_kind(value)


def load_backbone(folder: str | Path, *, dtype: Any = None, attn_implementation: str = "sdpa", device: Any = None,
                  load_tokenizer: bool = True) -> Any:
    """The image/text model of a checkpoint folder, whatever its ``model_type`` (see the table above)."""
    kind = backbone_kind(Path(folder))
    return kind.load(folder, dtype=dtype, attn_implementation=attn_implementation, device=device,
                     load_tokenizer=load_tokenizer)


def backbone_from_config(config: Any, **kwargs: Any) -> Any:
    """A random-weight backbone of a config: a CLIP config (FG-CLIP v1) or an ``FGCLIP2Config``."""
    from fgvad.models.fgclip2_config import FGCLIP2Config

    if isinstance(config, FGCLIP2Config):
        from fgvad.models.fgclip2 import FGCLIP2Model

        return FGCLIP2Model.from_config(config, **kwargs)
    from fgvad.models.fgclip import FGCLIPModel

    return FGCLIPModel.from_config(config, **kwargs)


__all__ = ["BACKBONES", "BackboneKind", "LOSS_TYPES", "backbone_from_config", "backbone_kind", "load_backbone",
           "read_model_type", "resolve_model_choice"]
