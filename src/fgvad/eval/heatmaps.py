"""Spatial anomaly maps, computed while evaluating and saved in the eval folder for viz to draw.

Which frames: the top-scored snippet centres of a video (the very frames the scorer saw),
at most one per snippet, so two maps never show the same moment twice.

Map kinds (each saved with its description, see :class:`fgvad.eval.folder.HeatmapSet`):
- ``prompt``: every patch of the dense feature map (``FGCLIPModel.get_dense_features``) goes
  through ``VideoFGCLIP.prompt_scores`` with the scorer's prompt set (the "normal" prompt
  first, then one per anomaly class): heat = 1 - P(normal prompt) per patch, the frame-level
  prompt score applied patch by patch. A hot patch looks less like the normal prompt than
  like some anomaly class. The prompt set is the scorer's (fgvad.eval.score.resolve_prompts).
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

MAP_DESCRIPTIONS = {
    "prompt": "1 − P(normal prompt) per patch, among the normal and class prompts",
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


def patch_anomaly_maps(model: Any, pixels: "torch.Tensor", prompt_embeds: "torch.Tensor",
                       normal_index: int = 0) -> np.ndarray:
    """Normalised pixels (B, 3, S, S) -> prompt maps (B, rows, cols) in [0, 1].

    ``model`` is a :class:`~fgvad.models.video.VideoFGCLIP`; its ``prompt_scores`` is applied
    to the dense patch features (float32 throughout: patch cosines are close together and
    bf16 would flatten the map).
    """
    import torch

    clip = model.clip
    with torch.inference_mode():
        dense = clip.get_dense_features(pixels.to(clip.device, clip.dtype)).float()  # (B, h*w, D)
        heat = model.prompt_scores(dense, prompt_embeds.to(dense.device), normal_index=normal_index)
    rows, cols = clip.patch_grid(pixels)
    return heat.reshape(-1, rows, cols).cpu().numpy().astype(np.float32)


def with_prompt_embeddings(scorer: "Scorer") -> "Scorer":
    """The scorer itself when it holds prompt embeddings, else a copy that does (a MIL scorer:
    same model, its prompt set embedded once, its scores unchanged)."""
    if scorer.prompt_embeds is not None:
        return scorer
    texts = scorer.prompts.texts if scorer.prompts is not None else None
    return dataclasses.replace(scorer, prompt_embeds=prompt_embeddings(scorer.model, scorer.checkpoint, texts))


def _prompt_maps(scorer: "Scorer", pixels: "torch.Tensor") -> np.ndarray:
    return patch_anomaly_maps(scorer.model, pixels, with_prompt_embeddings(scorer).prompt_embeds)


_MAP_FUNCTIONS: dict[str, Callable[["Scorer", "torch.Tensor"], np.ndarray]] = {"prompt": _prompt_maps}


def map_kinds(score_kind: str) -> tuple[str, ...]:
    """The map kinds saved for a scorer of ``score_kind`` (today every kind gets prompt maps)."""
    return ("prompt",)


def video_heatmaps(scorer: "Scorer", video_path: str | Path, frame_indices: list[int], *, name: str,
                   scores: np.ndarray, kinds: Iterable[str] = ("prompt",)) -> HeatmapSet:
    """Maps of ``frame_indices`` of one video: model-size frames for the model, native ones to show."""
    from fgvad.data.video import decode_frames
    from fgvad.models.video import frames_to_pixels

    # The scorer decodes at the model size with PyAV's scaler; doing the same keeps the
    # map's input identical to what produced the score.
    model_frames = decode_frames(video_path, frame_indices, scorer.image_size)
    native = decode_frames(video_path, frame_indices, None)
    pixels = frames_to_pixels(model_frames, scorer.image_size)
    kinds = list(kinds)
    return HeatmapSet(
        video=name, frame_indices=np.asarray(frame_indices, dtype=np.int64), frames=native,
        scores=np.asarray([scores[i] for i in frame_indices], dtype=np.float32),
        maps={kind: _MAP_FUNCTIONS[kind](scorer, pixels) for kind in kinds},
        descriptions={kind: MAP_DESCRIPTIONS[kind] for kind in kinds})


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
