"""Spatial anomaly maps, computed while evaluating and saved in the eval folder for viz to draw.

Which frames: the top-scored snippet centres of a video (the very frames the scorer saw),
at most one per snippet, so two maps never show the same moment twice.

Map kinds (each saved with its description, see :class:`fgvad.eval.folder.HeatmapSet`):
- ``prompt``: every patch of the dense feature map (the backbone's ``get_dense_features``, on
  its own patch grid: square for FG-CLIP v1, the video's NaFlex grid for FG-CLIP 2 / SigLIP 2)
  goes through ``VideoFGCLIP.prompt_scores`` with the scorer's prompt set (the "normal" prompt
  first, then one per anomaly class): the frame-level prompt score applied patch by patch
  (v1: 1 - P(normal prompt); FG-CLIP 2: SigLIP's sigmoid probabilities). A hot patch looks
  less like the normal prompt than like some anomaly class.
A kind is a function in ``_MAP_FUNCTIONS`` plus a line in ``MAP_DESCRIPTIONS``; a map that
explains the MIL score would be added the same way, and viz draws it unchanged.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from fgvad.core.constants import SNIPPET_FRAMES
from fgvad.eval.folder import HeatmapSet, heatmap_path, save_heatmaps
from fgvad.eval.score import prompt_embeddings, snippet_centres

if TYPE_CHECKING:
    import torch

    from fgvad.eval.score import Scorer

# Per kind, per backbone family: what the heat means.
MAP_DESCRIPTIONS = {
    "prompt": {
        "fgclip": "1 − P(normal prompt) per patch, among the normal and class prompts",
        "fgclip2": "P(best class prompt) / (P(best class prompt) + P(normal prompt)) per patch, with SigLIP's "
                   "sigmoid probabilities",
    },
}


def top_scored_frames(scores: np.ndarray, k: int, stride: int = SNIPPET_FRAMES) -> list[int]:
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


def patch_anomaly_maps(model: Any, pixels: Any, prompt_embeds: "torch.Tensor",
                       normal_index: int = 0) -> np.ndarray:
    """Frames of one grid -> prompt maps (B, rows, cols) in [0, 1].

    ``model`` is a :class:`~fgvad.models.video.VideoFGCLIP`; ``pixels`` uint8 frames
    (B, H, W, 3), v1 normalised pixels (B, 3, S, S), or its ``frame_inputs``. Its
    ``prompt_scores`` is applied to the dense patch features (float32 throughout: patch
    cosines are close together and bf16 would flatten the map).
    """
    import torch

    from fgvad.models.video_backbone import FrameInputs

    inputs = pixels if isinstance(pixels, FrameInputs) else model.frame_inputs(pixels)
    with torch.inference_mode():
        dense = model.ops.dense_maps(model.clip, inputs).float()  # (B, rows, cols, D)
        heat = model.prompt_scores(dense.flatten(1, 2), prompt_embeds.to(dense.device), normal_index=normal_index)
    return heat.reshape(dense.shape[:3]).cpu().numpy().astype(np.float32)


def with_prompt_embeddings(scorer: "Scorer") -> "Scorer":
    """The scorer itself when it holds prompt embeddings, else a copy that does (a MIL scorer:
    same model, prompts embedded once, its scores unchanged)."""
    if scorer.prompt_embeds is not None:
        return scorer
    return dataclasses.replace(scorer, prompt_embeds=prompt_embeddings(scorer.model, scorer.checkpoint))


def _prompt_maps(scorer: "Scorer", pixels: "torch.Tensor") -> np.ndarray:
    return patch_anomaly_maps(scorer.model, pixels, with_prompt_embeddings(scorer).prompt_embeds)


_MAP_FUNCTIONS: dict[str, Callable[["Scorer", "torch.Tensor"], np.ndarray]] = {"prompt": _prompt_maps}


def map_kinds(score_kind: str) -> tuple[str, ...]:
    """The map kinds saved for a scorer of ``score_kind`` (today every kind gets prompt maps)."""
    return ("prompt",)


def map_description(kind: str, scorer: "Scorer") -> str:
    return MAP_DESCRIPTIONS[kind][scorer.model.family]


def video_heatmaps(scorer: "Scorer", video_path: str | Path, frame_indices: list[int], *, name: str,
                   scores: np.ndarray, kinds: Iterable[str] = ("prompt",)) -> HeatmapSet:
    """Maps of ``frame_indices`` of one video: model-size frames for the model, native ones to show."""
    import torch

    from fgvad.data.video import decode_frames

    # The scorer decodes at the model's frame size with PyAV's scaler; doing the same keeps
    # the map's input identical to what produced the score.
    native = decode_frames(video_path, frame_indices, None)
    frame_hw = scorer.geometry.frame_size(native.shape[1], native.shape[2])
    pixels = torch.from_numpy(decode_frames(video_path, frame_indices, frame_hw))
    kinds = list(kinds)
    return HeatmapSet(
        video=name, frame_indices=np.asarray(frame_indices, dtype=np.int64), frames=native,
        scores=np.asarray([scores[i] for i in frame_indices], dtype=np.float32),
        maps={kind: _MAP_FUNCTIONS[kind](scorer, pixels) for kind in kinds},
        descriptions={kind: map_description(kind, scorer) for kind in kinds})


def save_video_heatmaps(scorer: "Scorer", out: Path, paths: Mapping[str, Path], scores: Mapping[str, np.ndarray],
                        *, videos: Iterable[str], top_k: int, stride: int, progress: bool = True) -> list[Path]:
    """``heatmaps/<video>.npz`` in ``out`` for each of ``videos``, at its ``top_k`` best-scored snippet centres."""
    from tqdm import tqdm

    names = list(videos) if top_k > 0 else []
    kinds = map_kinds(scorer.kind)
    if names and "prompt" in kinds:
        scorer = with_prompt_embeddings(scorer)
    written = []
    for name in tqdm(names, desc="heatmaps", unit="video", disable=not progress or not names, file=sys.stderr):
        frames = top_scored_frames(scores[name], top_k, stride)
        if frames:
            maps = video_heatmaps(scorer, paths[name], frames, name=name, scores=scores[name], kinds=kinds)
            written.append(save_heatmaps(heatmap_path(out, name), maps))
    return written
