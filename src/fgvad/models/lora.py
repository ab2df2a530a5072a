"""LoRA adapters on the FG-CLIP towers, through peft (optional extra: ``pip install 'fgvad[lora]'``).

Adapters are injected into the FG-CLIP model in place (``peft.inject_adapter_in_model``), so
the model keeps its methods (``get_image_features``, ``get_box_features``, ...) and the video
model around it does not change. A checkpoint of a LoRA run is the usual fgvad folder (the
official FG-CLIP layout with the *base* weights, the video heads) plus peft's own adapter
files beside them (``adapter_config.json``, ``adapter_model.safetensors``), which
:meth:`VideoFGCLIP.from_pretrained` reads back. :func:`merge_adapters` folds the adapters into
the weights, leaving a plain FG-CLIP model that loads without peft.

Only this module imports peft, lazily; without it, asking for LoRA is one line naming the extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from fgvad.core.errors import CheckpointError, ConfigError

ADAPTER_CONFIG_NAME = "adapter_config.json"  # peft's file names (peft.utils.constants)
ADAPTER_WEIGHTS_NAME = "adapter_model.safetensors"
DEFAULT_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj")  # attention projections of both CLIP towers
_ADAPTER_KEY_PARTS = (".lora_", ".base_layer.")


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    target: tuple[str, ...] = field(default=DEFAULT_TARGETS)


def require_peft() -> Any:
    """The peft module, or a one-line ConfigError naming the optional extra."""
    try:
        import peft
    except ImportError:
        raise ConfigError("LoRA needs peft, which is not installed: pip install 'fgvad[lora]'") from None
    return peft


def has_adapters(module: nn.Module) -> bool:
    return any(any(part in name for part in _ADAPTER_KEY_PARTS) for name, _ in module.named_parameters())


def add_adapters(clip: nn.Module, settings: LoraSettings) -> None:
    """Inject LoRA layers into every ``settings.target`` linear layer of both towers, in place;
    every other FG-CLIP weight is frozen except the three logit scales (new objectives)."""
    peft = require_peft()
    config = peft.LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                             target_modules=list(settings.target), bias="none")
    try:
        peft.inject_adapter_in_model(config, clip)
    except ValueError as err:  # peft: "Target modules {...} not found in the base model"
        first = str(err).strip().splitlines()[0]
        raise ConfigError(f"option --lora-target {','.join(settings.target)}: {first[:200]}") from None
    freeze_all_but_adapters(clip)


def freeze_all_but_adapters(clip: nn.Module) -> None:
    for name, param in clip.named_parameters():
        param.requires_grad_(".lora_" in name or name.startswith("logit_scale"))


def base_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict with adapters taken out: the wrapped layers' weights under their own names
    (``q_proj.base_layer.weight`` -> ``q_proj.weight``), no ``lora_`` tensors. Unchanged without adapters."""
    return {key.replace(".base_layer.", "."): value for key, value in state.items() if ".lora_" not in key}


def save_adapters(clip: nn.Module, folder: str | Path) -> None:
    """Write peft's ``adapter_config.json`` and ``adapter_model.safetensors`` into ``folder``."""
    from safetensors.torch import save_file

    peft = require_peft()
    config = _peft_config_of(clip)
    config.save_pretrained(str(folder))
    tensors = {k: v.detach().contiguous().cpu() for k, v in peft.get_peft_model_state_dict(clip).items()}
    save_file(tensors, str(Path(folder) / ADAPTER_WEIGHTS_NAME), metadata={"format": "pt"})


def load_adapters(clip: nn.Module, folder: str | Path) -> bool:
    """Inject and fill the adapters saved in ``folder``; False when it holds none."""
    folder = Path(folder)
    if not (folder / ADAPTER_CONFIG_NAME).is_file():
        return False
    peft = require_peft()
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        config = peft.LoraConfig.from_pretrained(str(folder))
        tensors = load_file(str(folder / ADAPTER_WEIGHTS_NAME))
    except (OSError, ValueError, TypeError, SafetensorError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{folder}: LoRA adapter files unreadable ({first[:200]})") from None
    peft.inject_adapter_in_model(config, clip)
    result = peft.set_peft_model_state_dict(clip, tensors)
    missing = [k for k in result.missing_keys if ".lora_" in k]
    if missing or result.unexpected_keys:
        key = (missing or list(result.unexpected_keys))[0]
        raise CheckpointError(f"{folder / ADAPTER_WEIGHTS_NAME}: adapters do not fit the model (key {key})")
    freeze_all_but_adapters(clip)
    return True


def merge_adapters(clip: nn.Module) -> int:
    """Fold every adapter into its layer's weight and put the plain layer back; returns how many."""
    merged = 0
    for name, module in list(clip.named_modules()):
        if not (hasattr(module, "merge") and hasattr(module, "get_base_layer") and hasattr(module, "lora_A")):
            continue
        module.merge()
        parent_name, _, child = name.rpartition(".")
        parent = clip.get_submodule(parent_name) if parent_name else clip
        setattr(parent, child, module.get_base_layer())
        merged += 1
    if hasattr(clip, "peft_config"):
        del clip.peft_config
    for param in clip.parameters():
        param.requires_grad_(True)
    return merged


def _peft_config_of(clip: nn.Module) -> Any:
    configs = getattr(clip, "peft_config", None)
    if not configs:
        raise CheckpointError("the model has LoRA layers but no peft config (injected by hand?)")
    return configs["default"] if isinstance(configs, dict) else configs


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
