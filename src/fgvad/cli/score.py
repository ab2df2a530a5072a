"""`fgvad score`: per-frame anomaly scores of any videos (fgvad.eval.score), saved as .npy (and plots)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fgvad.core.constants import DEFAULT_FRAME_BATCH, SNIPPET_FRAMES
from fgvad.core.errors import UsageError, VideoError
from fgvad.core.io import check_output_path
from fgvad.eval.score import SCORE_KINDS
from fgvad.core.checks import existing_file, existing_folder, non_negative_int, output_folder, positive_int

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
    parser.add_argument("videos", nargs="+", metavar="VIDEO", type=existing_file(what="video"), help="video files to score")
    parser.add_argument("--checkpoint", required=True, metavar="CKPT", type=existing_folder, 
                        help="fgvad video checkpoint, or an FG-CLIP v1 / CLIP / FG-CLIP 2 / SigLIP 2 folder")
    parser.add_argument("--out", required=True, metavar="DIR", type=output_folder, help="output folder for <video>.npy (and .png)")
    parser.add_argument("--stride", type=positive_int, default=SNIPPET_FRAMES,
                        help=f"frames per snippet (default {SNIPPET_FRAMES})")
    parser.add_argument("--score", choices=SCORE_KINDS, default="auto",
                        help="mil (trained head), prompt (zero-shot), mix; auto picks by checkpoint")
    parser.add_argument("--prompts", metavar="FILE", type=existing_file(),
                        help="prompt file (YAML/JSON: 'normal' and 'classes', see fgvad.core.prompts) for prompt "
                             "and mix scores; default: the checkpoint's own, else fgvad's for UCF-Crime's classes")
    parser.add_argument("--plot", action="store_true", help="also write the score curve as <video>.png")
    parser.add_argument("--num-workers", type=non_negative_int, default=4, help="decoding worker processes (default 4)")
    parser.add_argument("--frame-batch", type=positive_int, default=DEFAULT_FRAME_BATCH,
                        help=f"frames per vision-tower call (default {DEFAULT_FRAME_BATCH})")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--max-num-patches", type=positive_int, default=None, metavar="N",
                        help="FG-CLIP 2 / SigLIP 2: patches per frame (default: the checkpoint's training budget, "
                             "else 256)")
    parser.add_argument("--backbone", metavar="DIR", type=existing_folder,
                        help="heads trained on frozen features: their backbone's folder, when it moved")


def run(args: argparse.Namespace) -> int:
    from fgvad.eval.score import load_scorer, name_video_paths, score_videos

    check_output_path(args.out, flag="--out", folder=True)
    paths = name_video_paths(args.videos)
    for path in paths.values():
        if not path.is_file():
            raise VideoError(f"{path}: video not found")
    scorer = load_scorer(args.checkpoint, kind=args.score, device=args.device, prompts=args.prompts,
                         frame_batch=max(1, args.frame_batch), max_num_patches=args.max_num_patches,
                         backbone=args.backbone)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"scoring {len(paths)} video(s) with {args.checkpoint} ({scorer.kind} scores: {scorer.rule}; stride "
          f"{args.stride}, {scorer.device})", file=sys.stderr)
    for name, scores in score_videos(scorer, paths, stride=args.stride, num_workers=args.num_workers):
        np.save(out / f"{name}.npy", scores)
        line = f"{name}: {scores.size} frames, max score {scores.max():.3f} -> {out / (name + '.npy')}"
        if args.plot:
            from fgvad.viz.plots import plot_score_curve

            png = plot_score_curve(scores, out / f"{name}.png", title=f"{name} ({scorer.kind} scores)")
            line += f", {png}"
        print(line)
    return 0
