"""The optimizer's parameter groups, shared by the Trainer and ``fgvad bench`` (so the bench
times what training runs).

Each group has its own learning rate; biases, norms, embedding tables and logit scales get
no weight decay:
- vision: ``clip.vision_model`` and ``clip.visual_projection`` (FG-CLIP 2: also its
  ``dense_feature_head``) -> ``--vision-lr``
- text: ``clip.text_model``, ``text_projection``, ``text_filip_projection`` (FG-CLIP 2:
  ``boxtext_head``, ``longtext_head``) -> ``--text-lr``
- heads: the temporal module, pooling, MIL head, the logit scales and biases -> ``--head-lr``
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from torch import nn

from fgvad.train.options import OptimizationArguments


# Parameter prefixes of both backbone families (FG-CLIP v1 / CLIP, and FG-CLIP 2 / SigLIP 2).
_VISION_PREFIXES = ("vision_model.", "visual_projection.", "dense_feature_head.")
_TEXT_PREFIXES = ("text_model.", "text_projection.", "text_filip_projection.", "boxtext_head.", "longtext_head.")


def parameter_group_name(name: str) -> str:
    """'vision', 'text' or 'heads' for a parameter name of :class:`~fgvad.train.module.VideoTrainingModule`."""
    name = name.removeprefix("module.")
    if name.startswith("video_model.clip."):
        rest = name[len("video_model.clip."):]
        if rest.startswith(_VISION_PREFIXES):
            return "vision"
        if rest.startswith(_TEXT_PREFIXES):
            return "text"
        return "heads"  # logit scales: new objectives, tuned like the heads
    return "heads"


def no_weight_decay(name: str, param: nn.Parameter) -> bool:
    lowered = name.lower()
    return (param.ndim < 2 or lowered.endswith(".bias") or "norm" in lowered or "layrnorm" in lowered
            or "embedding" in lowered or "logit_" in lowered or lowered.endswith("positions")
            or "class_embedding" in lowered)


def learning_rates(optim: OptimizationArguments, base_lr: float) -> dict[str, float]:
    """The learning rate of each group: its own option, else ``learning_rate`` (heads: x multiplier)."""
    return {
        "vision": optim.vision_lr if optim.vision_lr is not None else base_lr,
        "text": optim.text_lr if optim.text_lr is not None else base_lr,
        "heads": optim.head_lr if optim.head_lr is not None else base_lr * optim.head_lr_multiplier,
    }


def parameter_groups(model: nn.Module, rates: dict[str, float], weight_decay: float) -> list[dict[str, Any]]:
    """Torch optimizer groups of the trainable parameters, named ``vision``, ``text_no_decay``, ..."""
    groups: dict[tuple[str, bool], list[nn.Parameter]] = defaultdict(list)
    for name, param in model.named_parameters():
        if param.requires_grad:
            groups[(parameter_group_name(name), no_weight_decay(name, param))].append(param)
    return [{"params": params, "lr": rates[group], "weight_decay": 0.0 if no_decay else weight_decay,
             "name": f"{group}{'_no_decay' if no_decay else ''}"}
            for (group, no_decay), params in sorted(groups.items())]
