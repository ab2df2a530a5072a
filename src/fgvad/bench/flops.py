"""FLOPs per frame of the vision tower (analytic) and the matmul ceiling the MFU is measured against."""

from __future__ import annotations

import time
from typing import Any

from fgvad.bench.harness import synchronize


def vision_forward_flops(vision_config: Any, projection_dim: int) -> float:
    """Matrix-product FLOPs (2 per multiply-add) of one frame through the vision tower.

    Patch embedding, per layer the q/k/v/out projections, the two attention products and the
    MLP, and the final projection of the class token. Norms and activations are not counted
    (they are not matrix products and are negligible).
    """
    width, hidden = vision_config.hidden_size, vision_config.intermediate_size
    patch, image = vision_config.patch_size, vision_config.image_size
    patches = (image // patch) ** 2
    tokens = patches + 1
    patch_embed = 2 * patches * (3 * patch * patch) * width
    per_layer = 2 * tokens * 4 * width * width + 2 * 2 * tokens * tokens * width + 2 * 2 * tokens * width * hidden
    return float(patch_embed + vision_config.num_hidden_layers * per_layer + 2 * width * projection_dim)


def naflex_vision_forward_flops(vision_config: Any, patches: int) -> float:
    """Matrix-product FLOPs of one frame of ``patches`` patches through a SigLIP 2 vision tower
    and its attention-pooling head (FG-CLIP 2's image features; no class token, no projection).
    Counted as :func:`vision_forward_flops`, plus transformers' position-grid resize (one
    product of the patches' interpolation weights with the grid); the head: q of the probe,
    k/v of every patch, the two attention products of one query, out projection and MLP of
    one token."""
    width, hidden, patch = vision_config.hidden_size, vision_config.intermediate_size, vision_config.patch_size
    patch_embed = 2 * patches * (vision_config.num_channels * patch * patch) * width
    patch_embed += 2 * patches * vision_config.num_patches * width
    per_layer = 2 * patches * 4 * width * width + 2 * 2 * patches * patches * width + 2 * 2 * patches * width * hidden
    head = 2 * width * width + 2 * 2 * patches * width * width + 2 * 2 * patches * width + 2 * width * width \
        + 2 * 2 * width * hidden
    return float(patch_embed + vision_config.num_hidden_layers * per_layer + head)


def frame_flops(config: Any, geometry: Any) -> float:
    """Vision FLOPs per frame of a bench size: CLIP's at its square size, or NaFlex's at the
    patches of a 320x240 frame under the geometry's budget."""
    if geometry.kind == "naflex":
        from fgvad.bench.sizes import SOURCE_HEIGHT_WIDTH

        height, width = geometry.frame_size(*SOURCE_HEIGHT_WIDTH)
        patches = (height // geometry.patch_size) * (width // geometry.patch_size)
        return naflex_vision_forward_flops(config.vision_config, patches)
    return vision_forward_flops(config.vision_config, config.projection_dim)


def matmul_ceiling_tflops(device: Any, dtype: Any, n: int | None = None, repeats: int | None = None) -> float:
    """Achievable TFLOP/s of a square matmul in the compute dtype on this device (the MFU ceiling)."""
    import torch

    on_cuda = device.type == "cuda"
    n = n or (8192 if on_cuda else 1024)
    repeats = repeats or (20 if on_cuda else 3)
    compute = dtype if (dtype is not None and on_cuda) else torch.float32
    a = torch.randn(n, n, device=device, dtype=compute)
    b = torch.randn(n, n, device=device, dtype=compute)
    for _ in range(2):
        a @ b
    synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    synchronize(device)
    seconds = time.perf_counter() - start
    return 2.0 * n ** 3 * repeats / seconds / 1e12
