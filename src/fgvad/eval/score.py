"""Per-frame anomaly scores of any video with a (video) FG-CLIP checkpoint; `fgvad score`.

Protocol: the video is cut into snippets of ``stride`` frames (the last one may be shorter);
the centre frame of each snippet is decoded at the model's resolution, the frame sequence
goes through VideoFGCLIP (vision tower in chunks, then the temporal module, which windows
long sequences itself), and each snippet's score is repeated over its frames, so the output
has exactly one score per real frame of the video.

Score kinds:
- ``mil``: sigmoid of the MIL head's logits (a trained fgvad checkpoint);
- ``prompt``: 1 - P(normal prompt) among the normal prompt and one prompt per anomaly
  class (``fgvad.core.prompts``), zero-shot (the untouched FG-CLIP/CLIP baseline);
- ``mix``: the mean of the two.
``auto`` picks ``mil`` when the checkpoint has trained video heads, ``prompt`` otherwise.

Decoding runs in DataLoader worker processes, a few videos ahead of the model.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

from fgvad.core.errors import CheckpointError, FgvadError, UsageError, VideoError
from fgvad.core.prompts import default_prompts

if TYPE_CHECKING:
    import torch

SCORE_KINDS = ("auto", "mil", "prompt", "mix")
DEFAULT_STRIDE = 16
DEFAULT_FRAME_BATCH = 256  # frames per vision-tower call: bounds activation memory on long videos


def snippet_centres(n_frames: int, stride: int = DEFAULT_STRIDE) -> np.ndarray:
    """Centre frame of each ``stride``-frame snippet of a video; the last snippet may be shorter."""
    if stride < 1:
        raise UsageError(f"stride must be >= 1, not {stride}")
    starts = np.arange(0, n_frames, stride, dtype=np.int64)
    ends = np.minimum(starts + stride, n_frames)
    return starts + (ends - starts) // 2


def expand_to_frames(snippet_scores: np.ndarray, n_frames: int, stride: int = DEFAULT_STRIDE) -> np.ndarray:
    """Repeat snippet k's score over frames [k*stride, (k+1)*stride) ∩ [0, n)."""
    s = np.asarray(snippet_scores, dtype=np.float32).reshape(-1)
    expected = -(-n_frames // stride)
    if s.size != expected:
        raise ValueError(f"{s.size} snippet scores for {n_frames} frames at stride {stride} (expected {expected})")
    return np.repeat(s, stride)[:n_frames]


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


def read_checkpoint_trained_on(checkpoint: str | Path) -> list[str]:
    """Videos a checkpoint was trained on ([] for an untouched FG-CLIP/CLIP)."""
    from fgvad.models.video import read_trained_on

    if not Path(checkpoint).is_dir():
        raise CheckpointError(f"{checkpoint}: checkpoint folder not found")
    return read_trained_on(checkpoint)


def pick_device(device: str | None = None) -> "torch.device":
    import torch

    if device:
        try:
            return torch.device(device)
        except RuntimeError:
            raise UsageError(f"--device {device!r} is not a torch device") from None
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Scorer:
    """A loaded model plus how to turn its outputs into one anomaly score per frame."""

    model: Any  # fgvad.models.video.VideoFGCLIP
    kind: str  # mil | prompt | mix
    device: "torch.device"
    prompt_embeds: "torch.Tensor | None" = None
    frame_batch: int = DEFAULT_FRAME_BATCH

    @property
    def image_size(self) -> int:
        return int(self.model.image_size)

    def _autocast(self):
        import contextlib

        import torch

        # bf16 on the GPU halves memory and doubles throughput; on the CPU float32 is both
        # faster and exact.
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def score_frames(self, frames: Any) -> np.ndarray:
        """uint8 frames (T, S, S, 3) of one video -> one float32 score per frame, shape (T,)."""
        import torch

        from fgvad.models.video import frames_to_pixels

        frames = torch.as_tensor(frames)
        if frames.shape[0] == 0:
            return np.zeros(0, dtype=np.float32)
        model = self.model
        with torch.inference_mode(), self._autocast():
            # Equivalent to model.forward(pixels) but normalises and encodes in chunks, so a
            # one-hour video never holds all its pixels in float on the device at once.
            embeds = []
            for start in range(0, frames.shape[0], self.frame_batch):
                chunk = frames[start:start + self.frame_batch].to(self.device, non_blocking=True)
                pixels = frames_to_pixels(chunk, self.image_size, dtype=model.dtype)
                embeds.append(model.encode_frames(pixels.unsqueeze(0)))
            out = model.forward_features(torch.cat(embeds, dim=1))
            mil = torch.sigmoid(out.anomaly_logits.float())[0] if self.kind in ("mil", "mix") else None
            prompt = (model.prompt_scores(out.frame_embeds, self.prompt_embeds)[0]
                      if self.kind in ("prompt", "mix") else None)
        if mil is not None and prompt is not None:
            scores = 0.5 * (mil + prompt)
        else:
            scores = mil if mil is not None else prompt
        return scores.float().cpu().numpy().astype(np.float32)


def load_scorer(checkpoint: str | Path, *, kind: str = "auto", device: str | None = None,
                prompts: Sequence[str] | None = None, frame_batch: int = DEFAULT_FRAME_BATCH) -> Scorer:
    """Load a checkpoint folder (fgvad video, FG-CLIP or plain CLIP) ready to score videos."""
    import torch

    from fgvad.models.tokenizer import load_tokenizer, tokenize
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
    dev = pick_device(device)
    model = VideoFGCLIP.from_pretrained(folder, device=dev).eval()
    prompt_embeds = None
    if kind in ("prompt", "mix"):
        tokenizer = getattr(model, "tokenizer", None) or load_tokenizer(folder)
        ids = tokenize(tokenizer, list(prompts or default_prompts()), long=False).to(dev)
        with torch.inference_mode():
            prompt_embeds = model.encode_text(ids, long=False).float()
    return Scorer(model=model, kind=kind, device=dev, prompt_embeds=prompt_embeds, frame_batch=frame_batch)


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


class SnippetFrames:
    """torch Dataset over videos: item = the centre frame of every snippet, decoded in a worker.

    Errors become part of the item (``error``) instead of propagating through the
    DataLoader, which would wrap them in a multi-line traceback.
    """

    def __init__(self, paths: Mapping[str, Path], size: int, stride: int):
        self.items = list(paths.items())
        self.size = size
        self.stride = stride

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        from fgvad.data.video import decode_frames, probe_video

        name, path = self.items[index]
        try:
            n_frames = probe_video(path).n_frames
            if n_frames <= 0:
                raise VideoError(f"{path}: no frames")
            frames = decode_frames(path, snippet_centres(n_frames, self.stride), self.size)
        except FgvadError as err:
            return {"name": name, "path": str(path), "error": str(err)}
        return {"name": name, "path": str(path), "n_frames": n_frames, "frames": torch.from_numpy(frames)}


def _normalise_paths(paths: Mapping[str, Path] | Sequence[str | Path]) -> dict[str, Path]:
    if isinstance(paths, Mapping):
        return {str(k): Path(v) for k, v in paths.items()}
    out: dict[str, Path] = {}
    for p in paths:
        p = Path(p)
        if p.stem in out:
            raise UsageError(f"two videos are both named {p.stem} ({out[p.stem]} and {p}); outputs would collide")
        out[p.stem] = p
    return out


def score_videos(model: Any, paths: Mapping[str, Path] | Sequence[str | Path], *, stride: int = DEFAULT_STRIDE,
                 num_workers: int = 4, kind: str = "auto", device: str | None = None,
                 progress: bool = True) -> Iterator[tuple[str, np.ndarray]]:
    """Yield ``(name, per-frame scores)`` for each video, decoding ahead in worker processes.

    ``paths``: a name -> path mapping or a list of paths (named by file stem). ``model``: a
    :class:`Scorer`, a checkpoint folder, or a VideoFGCLIP (MIL scores).
    """
    from torch.utils.data import DataLoader
    from tqdm import tqdm

    scorer = _as_scorer(model, kind, device)
    named = _normalise_paths(paths)
    for name, path in named.items():
        if not path.is_file():
            raise VideoError(f"{path}: video not found ({name})")
    dataset = SnippetFrames(named, scorer.image_size, stride)
    workers = max(0, min(num_workers, len(named)))
    loader = DataLoader(dataset, batch_size=None, shuffle=False, num_workers=workers,
                        pin_memory=scorer.device.type == "cuda",
                        prefetch_factor=2 if workers else None, persistent_workers=False)
    with tqdm(total=len(named), desc="scoring", unit="video", disable=not progress, file=sys.stderr) as bar:
        for item in loader:
            if "error" in item:
                raise VideoError(item["error"])
            snippet_scores = scorer.score_frames(item["frames"])
            yield item["name"], expand_to_frames(snippet_scores, int(item["n_frames"]), stride)
            bar.update(1)


def score_video(model: Any, path: str | Path, *, stride: int = DEFAULT_STRIDE, kind: str = "auto",
                device: str | None = None) -> np.ndarray:
    """Per-frame anomaly scores of one video: float32, length = the video's real frame count."""
    ((_, scores),) = list(score_videos(model, [Path(path)], stride=stride, num_workers=0, kind=kind,
                                       device=device, progress=False))
    return scores


# --------------------------------------------------------------------------- `fgvad score`

DESCRIPTION = """\
Per-frame anomaly scores of any videos with a checkpoint: one frame per STRIDE-frame snippet
(its centre) goes through the model, and each snippet's score is repeated over its frames,
so OUT/<video>.npy has exactly one float32 score per real frame. --plot also writes
OUT/<video>.png, the score curve. Runs batched in bf16 on the GPU when there is one."""

EXAMPLES = """\
examples:
  fgvad score street_cam.mp4 --checkpoint runs/ucf_full/checkpoint-2000 --out scores/ --plot
  fgvad score /data/clips/*.mp4 --checkpoint /models/fg-clip-base --score prompt --stride 8 --out zs/"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("videos", nargs="+", metavar="VIDEO", help="video files to score")
    parser.add_argument("--checkpoint", required=True, metavar="CKPT", help="fgvad, FG-CLIP or CLIP checkpoint folder")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder for <video>.npy (and .png)")
    parser.add_argument("--stride", type=int, default=DEFAULT_STRIDE, help="frames per snippet (default 16)")
    parser.add_argument("--score", choices=SCORE_KINDS, default="auto",
                        help="mil (trained head), prompt (zero-shot), mix; auto picks by checkpoint")
    parser.add_argument("--prompt", action="append", metavar="TEXT",
                        help="custom prompts for --score prompt: the first is the normal one (repeatable)")
    parser.add_argument("--plot", action="store_true", help="also write the score curve as <video>.png")
    parser.add_argument("--num-workers", type=int, default=4, help="decoding worker processes (default 4)")
    parser.add_argument("--frame-batch", type=int, default=DEFAULT_FRAME_BATCH,
                        help=f"frames per vision-tower call (default {DEFAULT_FRAME_BATCH})")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")


def run(args: argparse.Namespace) -> int:
    if args.stride < 1:
        raise UsageError(f"--stride must be >= 1, not {args.stride}")
    if args.prompt is not None and len(args.prompt) < 2:
        raise UsageError("--prompt needs at least two texts: the normal one first, then anomalous ones")
    paths = _normalise_paths(args.videos)
    for name, path in paths.items():
        if not path.is_file():
            raise VideoError(f"{path}: video not found")
    scorer = load_scorer(args.checkpoint, kind=args.score, device=args.device, prompts=args.prompt,
                         frame_batch=max(1, args.frame_batch))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"scoring {len(paths)} video(s) with {args.checkpoint} ({scorer.kind} scores, stride {args.stride}, "
          f"{scorer.device})", file=sys.stderr)
    for name, scores in score_videos(scorer, paths, stride=args.stride, num_workers=args.num_workers):
        np.save(out / f"{name}.npy", scores)
        line = f"{name}: {scores.size} frames, max score {scores.max():.3f} -> {out / (name + '.npy')}"
        if args.plot:
            from fgvad.viz.plots import plot_score_curve

            png = plot_score_curve(scores, out / f"{name}.png", title=f"{name} ({scorer.kind} scores)")
            line += f", {png}"
        print(line)
    return 0
