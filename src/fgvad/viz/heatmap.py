"""Spatial anomaly heatmaps: where in a frame the model sees the anomaly.

Each patch of the dense feature map (``FGCLIPModel.get_dense_features``) is compared with
the same prompts the zero-shot scorer uses (``fgvad.eval.score.default_prompts``: the
"normal" prompt first, then one per anomaly class). The heat of a patch is
``1 - softmax(scale * cos(patch, prompts))[normal]`` -- the per-frame prompt score of
``VideoFGCLIP.prompt_scores`` applied patch by patch -- so a hot patch is one that looks
less like the normal prompt than like any anomaly class.

Which frames: the top-scored snippet centres of a video (the very frames the scorer saw),
at most one per snippet, so two heatmaps never show the same moment twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fgvad.eval.score import DEFAULT_STRIDE, snippet_centres

if TYPE_CHECKING:
    import torch

    from fgvad.eval.score import Scorer


@dataclass
class Heatmap:
    """One frame's anomaly map and what is needed to draw it."""

    video: str
    frame_index: int
    score: float  # the video-level score of this frame (from the evaluated scores)
    heat: np.ndarray  # float32 (rows, cols) in [0, 1], row-major patch grid
    frame: np.ndarray  # uint8 (H, W, 3) at the video's native resolution
    in_ground_truth: bool | None = None


def top_scored_frames(scores: np.ndarray, k: int, stride: int = DEFAULT_STRIDE) -> list[int]:
    """Centre frames of the ``k`` highest-scored snippets, best first (ties: earliest first).

    Scores are one per frame and constant within a snippet, so ranking snippet centres
    picks k distinct moments instead of k neighbouring frames of the same snippet.
    """
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if k <= 0 or scores.size == 0:
        return []
    centres = snippet_centres(scores.size, max(1, stride))
    order = np.argsort(-scores[centres], kind="stable")
    return [int(c) for c in centres[order[:k]]]


def load_heatmap_scorer(checkpoint: str | Path, device: str | None = None) -> "Scorer":
    """The checkpoint with the scorer's prompt embeddings (any checkpoint kind: prompts need no heads)."""
    from fgvad.eval.score import load_scorer

    return load_scorer(checkpoint, kind="prompt", device=device)


def patch_anomaly_maps(clip: Any, pixels: "torch.Tensor", prompt_embeds: "torch.Tensor",
                       normal_index: int = 0) -> np.ndarray:
    """Normalised pixels (B, 3, S, S) -> anomaly maps (B, rows, cols) in [0, 1].

    ``clip`` is an :class:`~fgvad.models.fgclip.FGCLIPModel`; ``prompt_embeds`` (C, D) has
    the normal prompt at ``normal_index``. Float32 throughout: patch cosines are close
    together and bf16 would flatten the map.
    """
    import torch
    import torch.nn.functional as F

    with torch.inference_mode():
        dense = clip.get_dense_features(pixels.to(clip.device, clip.dtype)).float()  # (B, h*w, D)
        patches = F.normalize(dense, dim=-1)
        prompts = F.normalize(prompt_embeds.to(dense.device).float(), dim=-1)
        scale = clip.logit_scale.float().exp().clamp(max=100.0)
        probs = (scale * patches @ prompts.T).softmax(dim=-1)
        heat = 1.0 - probs[..., normal_index]
    rows, cols = clip.patch_grid(pixels)
    return heat.reshape(-1, rows, cols).cpu().numpy().astype(np.float32)


def video_heatmaps(scorer: "Scorer", video_path: str | Path, frame_indices: list[int], *, name: str,
                   scores: np.ndarray, gt: np.ndarray | None = None) -> list[Heatmap]:
    """Heatmaps of ``frame_indices`` of one video: model-size frames for the model, native ones to show."""
    from fgvad.data.video import decode_frames
    from fgvad.models.video import frames_to_pixels

    if not frame_indices:
        return []
    size = scorer.image_size
    # The scorer decodes at the model size with PyAV's scaler; doing the same keeps the
    # heatmap's input identical to what produced the score.
    model_frames = decode_frames(video_path, frame_indices, size)
    native = decode_frames(video_path, frame_indices, None)
    pixels = frames_to_pixels(model_frames, size)
    maps = patch_anomaly_maps(scorer.model.clip, pixels, scorer.prompt_embeds)
    out = []
    for k, index in enumerate(frame_indices):
        inside = bool(gt[index]) if gt is not None and index < len(gt) else None
        out.append(Heatmap(video=name, frame_index=int(index), score=float(scores[index]), heat=maps[k],
                           frame=native[k], in_ground_truth=inside))
    return out
