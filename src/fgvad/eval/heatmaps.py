"""Spatial anomaly maps, computed while evaluating and saved in the eval folder for viz to draw.

Which frames: the top-scored snippet centres of a video (the very frames the scorer saw),
at most one per snippet, so two maps never show the same moment twice.

A map explains the score printed beside it, so its kind follows the score kind
(:func:`map_kinds`): MIL scores get ``mil`` maps, prompt scores ``prompt`` maps, mixed
scores both. Each kind is saved with its description (:class:`fgvad.eval.folder.HeatmapSet`).
Both work on the backbone's own patch grid: square for FG-CLIP v1, the video's NaFlex grid for
FG-CLIP 2 / SigLIP 2 (frames decoded at the size the scorer decodes them at).

- ``prompt``: every patch of the dense feature map (the backbone's ``get_dense_features``)
  goes through ``VideoFGCLIP.prompt_scores`` with the scorer's prompt set (the "normal" prompt
  first, then one per anomaly class): the frame-level prompt score applied patch by patch
  (v1: 1 - P(normal prompt); FG-CLIP 2: SigLIP's sigmoid probabilities). A hot patch looks
  less like the normal prompt than like some anomaly class. The prompt set is the scorer's
  (fgvad.eval.score.resolve_prompts).
- ``mil``: occlusion. For each patch of the frame, the patch is greyed out (set to 0 after
  normalisation: the CLIP mean for v1, SigLIP's mid grey for NaFlex backbones), the frame goes
  through the whole scoring path again
  (vision tower, the temporal module over the frame's own window of neighbouring snippets,
  which stay as they were, and the MIL head), and heat = how much the frame's MIL score
  drops, clipped at 0. Why occlusion and not the MIL head applied to each patch's dense
  feature: the MIL head was trained on the class-token embedding after temporal context,
  never on patch features, so a per-patch head output is a different number from the one
  reported, and the temporal context (which can carry most of a snippet's score) would be
  ignored. The occlusion map is, by construction, a statement about the reported number: a
  patch at 0.2 is one without which the frame's MIL score is 0.2 lower. Costs one vision
  forward per patch (196 for ViT-B/16 at 224 px) per mapped frame, in float32 (single-patch
  differences are small; bf16 would bury them), so it explains the float32 score (on a GPU
  the reported score is computed under bf16 autocast and differs in the third decimal).
  For a model with a motion input, a greyed-out patch loses its motion too, and each frame's
  motion is rebuilt from the previous snippet centre, as the scorer computed it.
A new kind is a function in ``_MAP_FUNCTIONS`` plus a line per backbone family in
``MAP_DESCRIPTIONS``; viz draws it unchanged.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

import numpy as np

from fgvad.core.constants import SNIPPET_FRAMES
from fgvad.eval.folder import HeatmapSet, heatmap_path, save_heatmaps
from fgvad.eval.score import prompt_embeddings, snippet_centres

if TYPE_CHECKING:
    import torch

    from fgvad.models.video_backbone import FrameInputs

    from fgvad.eval.score import Scorer

# Per kind, per backbone family: what the heat means.
MAP_DESCRIPTIONS = {
    "prompt": {
        "fgclip": "1 − P(normal prompt) per patch, among the normal and class prompts",
        "fgclip2": "P(best class prompt) / (P(best class prompt) + P(normal prompt)) per patch, with SigLIP's "
                   "sigmoid probabilities",
    },
    "mil": dict.fromkeys(("fgclip", "fgclip2"),
                         "MIL score drop of the frame when the patch is greyed out (occlusion; 0 = no drop)"),
}


def top_scored_frames(scores: np.ndarray, k: int, stride: int = SNIPPET_FRAMES,
                      n_frames: int | None = None) -> list[int]:
    """Centre frames of the ``k`` highest-scored snippets, best first (ties: earliest first).

    Scores are one per frame and constant within a snippet, so ranking snippet centres
    picks k distinct moments instead of k neighbouring frames of the same snippet.
    ``n_frames``: the video's frame count when ``scores`` cover only a prefix of it (a
    ground-truth mode that drops the tail), so the centres are those the scorer used.
    """
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if k <= 0 or scores.size == 0:
        return []
    centres = snippet_centres(max(scores.size, n_frames or 0), max(1, stride))
    centres = centres[centres < scores.size]
    order = np.argsort(-scores[centres], kind="stable")
    return [int(c) for c in centres[order[:k]]]


@dataclass
class MapFrames:
    """The frames of one video to map, as the scorer saw them."""

    video_path: Path
    frame_indices: list[int]  # snippet centres
    pixels: "torch.Tensor"  # (K, H, W, 3) uint8 at the model's frame size (v1: or (K, 3, S, S) normalised)
    n_frames: int  # the video's frame count (fixes the snippet sequence)
    stride: int


# --------------------------------------------------------------------------- prompt maps


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
        dense = model.dense_maps(inputs).float()  # (B, rows, cols, D)
        heat = model.prompt_scores(dense.flatten(1, 2), prompt_embeds.to(dense.device), normal_index=normal_index)
    return heat.reshape(dense.shape[:3]).cpu().numpy().astype(np.float32)


def with_prompt_embeddings(scorer: "Scorer") -> "Scorer":
    """The scorer itself when it holds prompt embeddings, else a copy that does (a MIL scorer:
    same model, its prompt set embedded once, its scores unchanged)."""
    if scorer.prompt_embeds is not None:
        return scorer
    texts = scorer.prompts.texts if scorer.prompts is not None else None
    return dataclasses.replace(scorer, prompt_embeds=prompt_embeddings(scorer.model, scorer.checkpoint, texts))


def _previous_centres(centres: np.ndarray, snippets: Iterable[int]) -> np.ndarray:
    """The snippet centre before each of ``snippets`` (the first one's own centre: the scorer gives
    a video's first frame no motion, and a frame minus itself is none)."""
    return centres[[max(int(s) - 1, 0) for s in snippets]]


def _snippet(frames: MapFrames, frame: int, count: int) -> int:
    return min(frame // frames.stride, count - 1)


def _model_inputs(model: Any, frames: MapFrames, snippets: list[int], pixels: "torch.Tensor") -> "FrameInputs":
    """The vision inputs of ``pixels``, the frames of ``snippets``, as the scorer built them: for a
    model with a motion input, each with its change since the previous snippet centre."""
    import torch

    from fgvad.data.video import decode_frames
    from fgvad.models.video_backbone import frames_to_pixels

    if not model.sees_motion:
        return model.frame_inputs(pixels)
    centres = snippet_centres(frames.n_frames, frames.stride)
    uint8 = pixels.dtype == torch.uint8
    size = tuple(pixels.shape[1:3]) if uint8 else tuple(pixels.shape[-2:])  # (K, H, W, 3) or v1 (K, 3, S, S)
    previous = torch.from_numpy(decode_frames(frames.video_path, _previous_centres(centres, snippets), size))
    if not uint8:
        previous = frames_to_pixels(previous, size[-1], dtype=pixels.dtype)
    return model.frame_inputs(pixels, previous=previous)


def _prompt_maps(scorer: "Scorer", frames: MapFrames) -> np.ndarray:
    import torch

    count = len(snippet_centres(frames.n_frames, frames.stride))
    snippets = [_snippet(frames, f, count) for f in frames.frame_indices]
    inputs = _model_inputs(scorer.model, frames, snippets, torch.as_tensor(frames.pixels))
    return patch_anomaly_maps(scorer.model, inputs, with_prompt_embeddings(scorer).prompt_embeds)


# --------------------------------------------------------------------------- MIL maps


def occluded_copies(inputs: "FrameInputs", rows: int, cols: int) -> "FrameInputs":
    """The vision inputs of one image -> those of ``rows*cols`` copies, copy p with patch p
    (row-major) set to 0 (the normalisation's mean colour): a pixel block for v1's square
    pixels (1, 3, S, S), a patch row for NaFlex patch rows (1, P, 3p^2)."""
    import torch

    from fgvad.models.video_backbone import FrameInputs

    n = rows * cols
    copies = inputs.pixel_values[:1].repeat(n, *([1] * (inputs.pixel_values.dim() - 1)))
    if inputs.grids is None:  # v1: square pixels (and their motion, which the patch also loses)
        motion = None if inputs.motion is None else inputs.motion[:1].repeat(n, 1, 1, 1)
        height, width = copies.shape[-2] // rows, copies.shape[-1] // cols
        for p in range(n):
            r, c = divmod(p, cols)
            copies[p, :, r * height:(r + 1) * height, c * width:(c + 1) * width] = 0
            if motion is not None:
                motion[p, :, r * height:(r + 1) * height, c * width:(c + 1) * width] = 0
        return FrameInputs(copies, motion=motion)
    index = torch.arange(n, device=copies.device)
    copies[index, index] = 0  # NaFlex rows are the patches in row-major order
    return FrameInputs(copies, inputs.pixel_attention_mask[:1].repeat(n, 1), inputs.spatial_shapes[:1].repeat(n, 1),
                       (inputs.grids[0],) * n)


def _encode(model: Any, inputs: "FrameInputs", batch: int) -> tuple["torch.Tensor", "torch.Tensor | None"]:
    """N images' vision inputs -> (per-frame embeddings (N, D), their highest patch anomaly logits (N,)
    or None without a patch anomaly head), ``batch`` images per vision call."""
    import torch

    parts = [model.encode_inputs_and_dense(inputs.slice(i, i + batch)) for i in range(0, len(inputs), batch)]
    tops = None if parts[0].patch_top is None else torch.cat([part.patch_top[0] for part in parts])
    return torch.cat([part.frame_embeds[0] for part in parts]), tops


def _patch_grid(model: Any, inputs: "FrameInputs") -> tuple[int, int]:
    if inputs.grids is not None:
        return tuple(inputs.grids[0])
    return model.clip.patch_grid(inputs.pixel_values)


def mil_occlusion_maps(scorer: "Scorer", frames: MapFrames) -> tuple[np.ndarray, np.ndarray]:
    """``(maps (K, rows, cols) in [0, 1], MIL scores (K,) of the unoccluded frames)``.

    See the module docstring. Each mapped frame is a snippet centre; its score depends on the
    snippets of one temporal group or window (``VideoFGCLIP.frames_holding``), which are decoded
    and encoded once per group, as the scorer decoded them (at the mapped frames' size).
    """
    import torch

    from fgvad.data.video import decode_frames

    model = scorer.model
    pixels = torch.as_tensor(frames.pixels)
    size = tuple(pixels.shape[1:3]) if pixels.dtype == torch.uint8 else tuple(pixels.shape[-2:])
    centres = snippet_centres(frames.n_frames, frames.stride)
    batch = max(1, scorer.frame_batch)
    windows: dict[tuple[int, ...], tuple[Any, torch.Tensor]] = {}
    maps, bases = [], []
    with torch.inference_mode():
        for frame in frames.frame_indices:
            snippet = _snippet(frames, frame, len(centres))
            held = tuple(model.frames_holding(len(centres), snippet))
            if held not in windows:
                inputs = _model_inputs(model, frames, list(held),
                                       torch.from_numpy(decode_frames(frames.video_path, centres[list(held)], size)))
                windows[held] = inputs, _encode(model, inputs, batch)
            inputs, (embeds, tops) = windows[held]
            position = held.index(snippet)
            one = inputs.slice(position, position + 1)
            rows, cols = _patch_grid(model, one)
            occluded, occluded_tops = _encode(model, occluded_copies(one, rows, cols), batch)
            variants = torch.cat([embeds[position:position + 1], occluded])
            variant_tops = None if tops is None else torch.cat([tops[position:position + 1], occluded_tops])
            scores = torch.sigmoid(model.anomaly_logits_replacing(embeds, position, variants, variant_tops).float())
            bases.append(float(scores[0]))
            maps.append((scores[0] - scores[1:]).clamp(min=0.0).reshape(rows, cols).cpu().numpy())
    return np.stack(maps).astype(np.float32), np.asarray(bases, dtype=np.float32)


def _mil_maps(scorer: "Scorer", frames: MapFrames) -> np.ndarray:
    return mil_occlusion_maps(scorer, frames)[0]


_MAP_FUNCTIONS: dict[str, Callable[["Scorer", MapFrames], np.ndarray]] = {
    "prompt": _prompt_maps, "mil": _mil_maps}
_KINDS_OF_SCORE = {"mil": ("mil",), "mix": ("mil", "prompt"), "prompt": ("prompt",)}


def map_kinds(score_kind: str) -> tuple[str, ...]:
    """The map kinds saved for a scorer of ``score_kind``: the maps of what makes its score."""
    return _KINDS_OF_SCORE[score_kind]


def map_description(kind: str, scorer: "Scorer") -> str:
    return MAP_DESCRIPTIONS[kind][scorer.model.family]


def video_heatmaps(scorer: "Scorer", video_path: str | Path, frame_indices: list[int], *, name: str,
                   scores: np.ndarray, kinds: Iterable[str] = ("prompt",), n_frames: int | None = None,
                   stride: int = SNIPPET_FRAMES) -> HeatmapSet:
    """Maps of ``frame_indices`` of one video: model-size frames for the model, native ones to show."""
    import torch

    from fgvad.data.video import decode_frames, probe_video

    # The scorer decodes at the model's frame size with PyAV's scaler; doing the same keeps
    # the map's input identical to what produced the score.
    native = decode_frames(video_path, frame_indices, None)
    frame_hw = scorer.geometry.frame_size(native.shape[1], native.shape[2])
    frames = MapFrames(video_path=Path(video_path), frame_indices=list(frame_indices),
                       pixels=torch.from_numpy(decode_frames(video_path, frame_indices, frame_hw)),
                       n_frames=n_frames if n_frames is not None else probe_video(video_path).n_frames,
                       stride=stride)
    kinds = list(kinds)
    return HeatmapSet(
        video=name, frame_indices=np.asarray(frame_indices, dtype=np.int64), frames=native,
        scores=np.asarray([scores[i] for i in frame_indices], dtype=np.float32),
        maps={kind: _MAP_FUNCTIONS[kind](scorer, frames) for kind in kinds},
        descriptions={kind: map_description(kind, scorer) for kind in kinds})


def save_video_heatmaps(scorer: "Scorer", out: Path, paths: Mapping[str, Path], scores: Mapping[str, np.ndarray],
                        *, videos: Iterable[str], top_k: int, stride: int, progress: bool = True,
                        frame_counts: Mapping[str, int] | None = None) -> list[Path]:
    """``heatmaps/<video>.npz`` in ``out`` for each of ``videos``, at its ``top_k`` best-scored snippet
    centres. ``frame_counts``: each video's real frame count when ``scores`` may be a prefix."""
    from tqdm import tqdm

    names = list(videos) if top_k > 0 else []
    kinds = map_kinds(scorer.kind)
    if names and "prompt" in kinds:
        scorer = with_prompt_embeddings(scorer)
    counts = frame_counts or {}
    written = []
    for name in tqdm(names, desc="heatmaps", unit="video", disable=not progress or not names, file=sys.stderr):
        frames = top_scored_frames(scores[name], top_k, stride, counts.get(name))
        if frames:
            maps = video_heatmaps(scorer, paths[name], frames, name=name, scores=scores[name], kinds=kinds,
                                  n_frames=counts.get(name), stride=stride)
            written.append(save_heatmaps(heatmap_path(out, name), maps))
    return written
