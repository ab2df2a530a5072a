"""Per-frame anomaly scores of any video with a checkpoint (`fgvad score`, `fgvad eval`): an fgvad
video checkpoint, or any backbone fgvad loads (FG-CLIP v1 / CLIP, FG-CLIP 2, SigLIP 2).

Protocol: the video is cut into snippets of ``stride`` frames (the last one may be shorter);
the centre frame of each snippet is decoded at the model's frame size (FG-CLIP v1: its square
image size; FG-CLIP 2 / SigLIP 2: the video's NaFlex size for ``max_num_patches``, by default
the budget the checkpoint was trained with), the frame sequence goes through VideoFGCLIP
(vision tower in chunks, then the temporal module, which windows long sequences itself),
and each snippet's score is repeated over its frames, so the output has exactly one score
per real frame of the video.

Score kinds:
- ``mil``: sigmoid of the MIL head's logits (a trained fgvad checkpoint);
- ``prompt``: zero-shot, from the normal prompt and one prompt per anomaly class, the
  backbone's own probabilities: FG-CLIP v1 / CLIP 1 - softmax(...)[normal]; FG-CLIP 2 /
  SigLIP 2 SigLIP's sigmoid probabilities, P(best class prompt) / (P(best class prompt) +
  P(normal prompt)) (``Scorer.rule`` says which, and the evaluation report repeats it). The
  prompt set is the one given (``--prompts FILE``), else the one the checkpoint was trained
  with, else the defaults of ``fgvad.core.prompts`` for the dataset's classes
  (:func:`resolve_prompts`);
- ``mix``: the mean of the two.
``auto`` picks ``mil`` when the checkpoint has trained video heads, ``prompt`` otherwise.

Decoding runs in DataLoader worker processes, a few videos ahead of the model.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

from fgvad.core.constants import DEFAULT_FRAME_BATCH, SNIPPET_FRAMES
from fgvad.core.datasets import UCF_CLASSES
from fgvad.core.errors import CheckpointError, UsageError, VideoError
from fgvad.core.prompts import PromptSet, as_prompt_set, default_prompt_set
from fgvad.data.snippets import SnippetFrames, snippet_frame_indices
from fgvad.eval.metrics import expand_snippet_scores

if TYPE_CHECKING:
    import torch

SCORE_KINDS = ("auto", "mil", "prompt", "mix")


def snippet_centres(n_frames: int, stride: int = SNIPPET_FRAMES) -> np.ndarray:
    """Centre frame of each ``stride``-frame snippet of a video; the last snippet may be shorter."""
    return snippet_frame_indices(n_frames, stride, 1)[:, 0]


# --------------------------------------------------------------------------- model side


def checkpoint_has_trained_heads(checkpoint: str | Path) -> bool:
    """Whether a checkpoint carries trained video heads (fgvad_video.json, not flagged untrained)."""
    from fgvad.models.video import HEADS_WEIGHTS_NAME, VIDEO_CONFIG_NAME

    folder = Path(checkpoint)
    meta_file = folder / VIDEO_CONFIG_NAME
    if not meta_file.is_file() or not (folder / HEADS_WEIGHTS_NAME).is_file():
        return False
    try:
        meta = json.loads(meta_file.read_text())
    except ValueError:
        raise CheckpointError(f"{meta_file}: invalid JSON") from None
    return not (isinstance(meta, dict) and meta.get("trained") is False)


def checkpoint_snippet_frames(checkpoint: str | Path) -> int | None:
    """The snippet length of the features a heads-only checkpoint was trained on (None: not one)."""
    from fgvad.models.video import read_video_meta

    meta = read_video_meta(Path(checkpoint)) if Path(checkpoint).is_dir() else None
    features = (meta or {}).get("features")
    return int(features["snippet_frames"]) if isinstance(features, dict) and "snippet_frames" in features else None


def read_checkpoint_trained_on(checkpoint: str | Path) -> list[str]:
    """Videos a checkpoint was trained on ([] for an untouched FG-CLIP/CLIP)."""
    from fgvad.models.video import read_trained_on

    if not Path(checkpoint).is_dir():
        raise CheckpointError(f"{checkpoint}: checkpoint folder not found")
    return read_trained_on(checkpoint)


@dataclass
class Scorer:
    """A loaded model plus how to turn its outputs into one anomaly score per frame."""

    model: Any  # fgvad.models.video.VideoFGCLIP
    kind: str  # mil | prompt | mix
    device: "torch.device"
    prompt_embeds: "torch.Tensor | None" = None
    frame_batch: int = DEFAULT_FRAME_BATCH
    checkpoint: Path | None = None  # the folder it was loaded from (its tokenizer, for prompts)
    max_num_patches: int | None = None  # NaFlex backbones: None = the checkpoint's training budget
    prompts: PromptSet | None = None  # the prompt set of prompt scores and prompt maps
    prompt_source: str | None = None  # where it came from (see resolve_prompts)

    @property
    def image_size(self) -> int | None:
        """The square frame size of an FG-CLIP v1 model (None for NaFlex backbones)."""
        return self.model.image_size

    @property
    def geometry(self) -> Any:
        """The :class:`~fgvad.data.geometry.FrameGeometry` frames are decoded at for this model."""
        return self.model.frame_geometry(max_num_patches=self.max_num_patches)

    @property
    def rule(self) -> str:
        """How the scores are made, in one line (the evaluation report prints it)."""
        rules = {"mil": "sigmoid of the MIL head's per-frame logit",
                 "prompt": f"zero-shot prompts: {self.model.prompt_rule}"}
        if self.kind == "mix":
            return f"mean of ({rules['mil']}) and ({rules['prompt']})"
        return rules[self.kind]

    def _autocast(self):
        import contextlib

        import torch

        # bf16 on the GPU halves memory and doubles throughput; on the CPU float32 is both
        # faster and exact.
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def score_frames(self, frames: Any) -> np.ndarray:
        """uint8 frames (T, H, W, 3) of one video -> one float32 score per frame, shape (T,)."""
        import torch

        frames = torch.as_tensor(frames)
        if frames.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        model = self.model
        with torch.inference_mode(), self._autocast():
            # Equivalent to model.forward(pixels) but normalises and encodes in chunks, so a
            # one-hour video never holds all its pixels in float on the device at once.
            embeds, tops = [], []
            for start in range(0, frames.shape[0], self.frame_batch):
                chunk = frames[start:start + self.frame_batch].to(self.device, non_blocking=True)
                # A motion input's first frame of a chunk differs from the last of the one before.
                previous = frames[start - 1:start] if start > 0 else None
                encoded = model.encode_inputs_and_dense(model.frame_inputs(chunk.unsqueeze(0), previous=previous))
                embeds.append(encoded.frame_embeds)
                tops.append(encoded.patch_top)  # a patch anomaly head's highest patch per frame, else None
            out = model.forward_features(torch.cat(embeds, dim=1), torch.cat(tops, dim=1) if tops[0] is not None
                                         else None)
            mil = torch.sigmoid(out.anomaly_logits.float())[0] if self.kind in ("mil", "mix") else None
            prompt = (model.prompt_scores(out.frame_embeds, self.prompt_embeds)[0]
                      if self.kind in ("prompt", "mix") else None)
        if mil is not None and prompt is not None:
            scores = 0.5 * (mil + prompt)
        else:
            scores = mil if mil is not None else prompt
        return scores.float().cpu().numpy().astype(np.float32)


def resolve_prompts(checkpoint: str | Path, prompts: PromptSet | str | Path | None = None, *,
                    default: PromptSet | None = None, default_source: str = "default") -> tuple[PromptSet, str]:
    """The prompt set to score ``checkpoint`` with, and where it came from.

    First match wins: ``prompts`` (a PromptSet or a prompt file: "given"), the set the
    checkpoint was trained with ("checkpoint"), ``default`` (``default_source``; None:
    fgvad's default prompts over UCF-Crime's classes, "default").
    """
    from fgvad.models.video import read_prompt_set

    given = as_prompt_set(prompts)
    if given is not None:
        return given, "given"
    stored = read_prompt_set(checkpoint)
    if stored is not None:
        return stored, "checkpoint"
    if default is not None:
        return default, default_source
    return default_prompt_set(UCF_CLASSES), "default"


def load_scorer(checkpoint: str | Path, *, kind: str = "auto", device: str | None = None,
                prompts: PromptSet | str | Path | None = None, frame_batch: int = DEFAULT_FRAME_BATCH,
                default_prompts: PromptSet | None = None, default_source: str = "default",
                backbone: str | Path | None = None, max_num_patches: int | None = None) -> Scorer:
    """Load a checkpoint folder (fgvad video, a backbone of ``fgvad.models.backbones``, or heads trained
    on frozen features with their backbone: ``backbone`` = where that backbone is now, if it moved)
    ready to score videos.

    ``prompts``, ``default_prompts``, ``default_source``: see :func:`resolve_prompts` (they matter for prompt
    and mix scores, and for prompt maps). ``max_num_patches``: NaFlex frames' patch budget (default: the
    checkpoint's).
    """
    from fgvad.models.checkpoint_io import refuse_non_finite
    from fgvad.models.device import resolve_device
    from fgvad.models.video import VideoFGCLIP

    if kind not in SCORE_KINDS:
        raise UsageError(f"unknown score kind {kind!r} (choose from {', '.join(SCORE_KINDS)})")
    folder = Path(checkpoint)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: checkpoint folder not found")
    trained = checkpoint_has_trained_heads(folder)
    if kind == "auto":
        kind = "mil" if trained else "prompt"
    elif kind in ("mil", "mix") and not trained:
        raise UsageError(f"{folder}: has no trained video heads, so its MIL scores would be random; "
                         "use --score prompt")
    if max_num_patches is not None and max_num_patches < 1:
        raise UsageError(f"--max-num-patches must be >= 1, not {max_num_patches}")
    prompt_set, source = resolve_prompts(folder, prompts, default=default_prompts, default_source=default_source)
    dev = resolve_device(device)  # before loading: an unavailable device is one line
    model = VideoFGCLIP.from_pretrained(folder, device=dev, backbone=backbone).eval()
    refuse_non_finite(model, folder)  # NaN weights would give NaN scores, written with exit status 0
    prompt_embeds = (prompt_embeddings(model, folder, prompt_set.texts) if kind in ("prompt", "mix") else None)
    return Scorer(model=model, kind=kind, device=dev, prompt_embeds=prompt_embeds, frame_batch=frame_batch,
                  checkpoint=folder, prompts=prompt_set, prompt_source=source, max_num_patches=max_num_patches)


def prompt_embeddings(model: Any, checkpoint: str | Path, prompts: Sequence[str] | None = None) -> "torch.Tensor":
    """(C, D) float32 text embeddings of prompt texts (normal prompt first; default: fgvad's default
    set), the ``short`` walk, tokenized with the model's tokenizer, else the checkpoint folder's."""
    import torch

    from fgvad.models.video_backbone import text_tokenizer

    tokenizer = getattr(model, "tokenizer", None) or _folder_tokenizer(model, checkpoint)
    ids = text_tokenizer(model.clip, tokenizer)(list(prompts or default_prompt_set().texts), "short").to(model.device)
    with torch.inference_mode():
        return model.encode_text(ids, walk="short").float()


def _folder_tokenizer(model: Any, checkpoint: str | Path) -> Any:
    if model.family == "fgclip2":
        from fgvad.models.fgclip2_processing import load_fgclip2_tokenizer

        return load_fgclip2_tokenizer(checkpoint)
    from fgvad.models.tokenizer import load_tokenizer

    return load_tokenizer(checkpoint)


def _as_scorer(model: Any, kind: str = "auto", device: str | None = None) -> Scorer:
    if isinstance(model, Scorer):
        return model
    if isinstance(model, (str, Path)):
        return load_scorer(model, kind=kind, device=device)
    # A VideoFGCLIP in memory: only its MIL head can score without a tokenizer.
    if kind not in ("auto", "mil"):
        raise UsageError("prompt scores need a Scorer from load_scorer (it holds the prompt embeddings)")
    return Scorer(model=model.eval(), kind="mil", device=model.device)


# --------------------------------------------------------------------------- decoding side


def name_video_paths(paths: Mapping[str, Path] | Sequence[str | Path]) -> dict[str, Path]:
    """``{name: path}`` of videos given as a mapping, or as paths named by their file stem (unique)."""
    if isinstance(paths, Mapping):
        return {str(k): Path(v) for k, v in paths.items()}
    out: dict[str, Path] = {}
    for p in paths:
        p = Path(p)
        if p.stem in out:
            raise UsageError(f"two videos are both named {p.stem} ({out[p.stem]} and {p}); outputs would collide")
        out[p.stem] = p
    return out


def score_videos(model: Any, paths: Mapping[str, Path] | Sequence[str | Path], *, stride: int = SNIPPET_FRAMES,
                 num_workers: int = 4, kind: str = "auto", device: str | None = None,
                 progress: bool = True) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, per-frame scores)`` for each video, decoding ahead in worker processes.

    ``paths``: a name -> path mapping or a list of paths (named by file stem). ``model``: a
    :class:`Scorer`, a checkpoint folder, or a VideoFGCLIP (MIL scores).
    """
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    scorer = _as_scorer(model, kind, device)
    named = name_video_paths(paths)
    for name, path in named.items():
        if not path.is_file():
            raise VideoError(f"{path}: video not found ({name})")
    dataset = SnippetFrames(named, scorer.geometry, stride)
    workers = max(0, min(num_workers, len(named)))
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                        pin_memory=scorer.device.type == "cuda",
                        prefetch_factor=2 if workers else None, persistent_workers=False)
    with tqdm(total=len(named), desc="scoring", unit="video", disable=not progress, file=sys.stderr) as bar:
        for item in loader:
            if "error" in item:
                raise VideoError(item["error"])
            snippet_scores = scorer.score_frames(item["frames"])
            yield item["name"], expand_snippet_scores(snippet_scores, int(item["n_frames"]), stride, name=item["name"])
            bar.update(1)


def score_video(model: Any, path: str | Path, *, stride: int = SNIPPET_FRAMES, kind: str = "auto",
                device: str | None = None) -> np.ndarray:
    """Per-frame anomaly scores of one video: float32, length = the video's real frame count."""
    ((_, scores),) = list(score_videos(model, [Path(path)], stride=stride, num_workers=0, kind=kind,
                                       device=device, progress=False))
    return scores
