"""`fgvad eval`: parse, call fgvad.eval.evaluate(), print the metrics table."""

from __future__ import annotations

import argparse

from fgvad.core.constants import DEFAULT_FRAME_BATCH, SNIPPET_FRAMES
from fgvad.core.datasets import DATASETS
from fgvad.eval.folder import DEFAULT_HEATMAP_TOP_K
from fgvad.eval.gt import GT_MODES
from fgvad.eval.metrics import DEFAULT_THRESHOLD
from fgvad.eval.score import SCORE_KINDS  # torch is imported only when a model is loaded
from fgvad.core.checks import existing_file, existing_folder, finite_float, non_negative_int, output_folder, positive_int

DESCRIPTION = """\
Evaluate on a benchmark's protocol (--dataset ucf-crime, xd-violence or shanghaitech): frame
ROC-AUC, AP (average_precision_score and the trapezoid AP of RTFM-style repos), AUC on anomalous
videos, per-class AUC and the false-alarm rate on normal videos, with the ground-truth
convention named (--gt-mode). The dataset's headline metric is printed first (AUC for
UCF-Crime and ShanghaiTech, AP for XD-Violence); both are always reported.

Either score the test videos with a checkpoint (--checkpoint, --video-root; refused when the
checkpoint was trained on test videos unless --allow-leakage), optionally beside the untouched
model scored zero-shot by prompts (--baseline), or evaluate precomputed scores of any method
(--scores DIR of <video name>.npy files, one score per frame; --expand 16 for one per snippet).
Prompt scores use the backbone's own probabilities: softmax over the prompts for FG-CLIP v1 /
CLIP, SigLIP's sigmoid probabilities for FG-CLIP 2 / SigLIP 2 (metrics.md says which).

Writes the eval folder OUT (metrics.json, metrics.md, gt.npz, scores/, eval_meta.json, and
with a checkpoint heatmaps/: the spatial maps of the top-scored frames of each anomalous
video; baseline/ the same for the baseline) that `fgvad viz OUT` draws."""

EXAMPLES = """\
examples:
  fgvad eval --checkpoint runs/ucf_full/checkpoint-2000 --baseline /models/fg-clip-base \\
             --video-root /data/UCF_Crimes/Videos --test-annotation ucf-crime --out eval/ucf_full
  fgvad eval --checkpoint runs/fgclip2_ucf/checkpoint-2000 --baseline /models/fg-clip2-base \
             --video-root /data/UCF_Crimes/Videos --out eval/fgclip2_ucf
  fgvad eval --scores rtfm_scores/ --expand 16 --frame-counts ucf-crime --gt-mode i3d --out eval/rtfm
  fgvad eval --dataset xd-violence --scores xd_scores/ --expand 16 --frame-counts xd_frames.txt \
             --gt-mode i3d --out eval/xd
  fgvad eval --dataset shanghaitech --checkpoint runs/sh/checkpoint-500 --video-root /data/sh_test \
             --out eval/sh"""


def add_scoring_arguments(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """How checkpoints score videos (shared with `fgvad compare`); returns the group for more."""
    scoring = parser.add_argument_group("scoring with a checkpoint")
    scoring.add_argument("--stride", type=positive_int, default=SNIPPET_FRAMES,
                         help=f"score one frame per STRIDE frames (default {SNIPPET_FRAMES}; heads trained on "
                              "features: their snippet length)")
    scoring.add_argument("--score", choices=SCORE_KINDS, default="auto",
                         help="score kind; auto = MIL head for a trained fgvad checkpoint, prompts otherwise")
    scoring.add_argument("--frame-batch", type=positive_int, default=DEFAULT_FRAME_BATCH,
                         help=f"frames per vision-tower call (default {DEFAULT_FRAME_BATCH})")
    scoring.add_argument("--num-workers", type=non_negative_int, default=4, help="decoding worker processes (default 4)")
    scoring.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    scoring.add_argument("--max-num-patches", type=positive_int, default=None, metavar="N",
                         help="FG-CLIP 2 / SigLIP 2: patches per frame (default: each checkpoint's training budget, "
                              "else 256)")
    scoring.add_argument("--prompts", metavar="FILE", type=existing_file(),
                         help="prompt file (YAML/JSON: 'normal' and 'classes', see fgvad.core.prompts) for prompt "
                              "scores and maps, the baseline's included; default: the checkpoint's own, else "
                              "fgvad's for the test set's classes")
    return scoring


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("what to evaluate (one of)")
    src.add_argument("--checkpoint", metavar="CKPT", type=existing_folder,
                     help="fgvad video checkpoint, or an FG-CLIP v1 / CLIP / FG-CLIP 2 / "
                                                         "SigLIP 2 folder, to score the videos with")
    src.add_argument("--scores", metavar="DIR", type=existing_folder, help="folder of precomputed <video name>.npy score arrays")
    parser.add_argument("--baseline", metavar="CKPT0", type=existing_folder,
                        help="untouched checkpoint scored zero-shot by prompts, reported beside --checkpoint")
    parser.add_argument("--baseline-scores", metavar="DIR", type=existing_folder, help="precomputed scores reported beside --scores")
    parser.add_argument("--dataset", choices=sorted(DATASETS),
                        help="benchmark whose protocol applies (default: ucf-crime, or the one --test-annotation names)")
    parser.add_argument("--test-annotation", metavar="FILE|NAME",
                        help="temporal test annotation in the dataset's format (default: its official one, shipped)")
    parser.add_argument("--video-root", metavar="DIR", type=existing_folder,
                        help="test videos: DIR/Folder/Name.mp4 (UCF-Crime) or DIR/Name.mp4, else found by name below DIR")
    parser.add_argument("--frame-counts", metavar="FILE|ucf-crime", type=existing_file("frame_counts"),
                        help="frame counts for --scores: lines 'NAME N', further columns ignored ('ucf-crime' = shipped)")
    parser.add_argument("--gt-mode", choices=GT_MODES, default="frames",
                        help="ground-truth convention (default: frames = every real frame)")
    parser.add_argument("--expand", type=positive_int, metavar="N",
                        help="--scores hold one score per N-frame snippet: repeat each over its N frames")
    parser.add_argument("--out", required=True, metavar="DIR", type=output_folder, help="output folder")
    parser.add_argument("--threshold", type=finite_float, default=DEFAULT_THRESHOLD,
                        help=f"score threshold of far_normal (default {DEFAULT_THRESHOLD})")
    scoring = add_scoring_arguments(parser)
    scoring.add_argument("--heatmap-top-k", type=non_negative_int, default=DEFAULT_HEATMAP_TOP_K, metavar="K",
                         help="spatial maps saved per anomalous video, at its K top-scored frames "
                              f"(default {DEFAULT_HEATMAP_TOP_K}; 0 = none)")
    parser.add_argument("--allow-leakage", action="store_true",
                        help="evaluate even if the checkpoint was trained on test videos (numbers are then invalid)")


def run(args: argparse.Namespace) -> int:
    from fgvad.eval.evaluation import evaluate

    result = evaluate(
        out=args.out, checkpoint=args.checkpoint, scores=args.scores, baseline=args.baseline,
        baseline_scores=args.baseline_scores, test_annotation=args.test_annotation, dataset=args.dataset,
        video_root=args.video_root,
        frame_counts=args.frame_counts, gt_mode=args.gt_mode, expand=args.expand, threshold=args.threshold,
        stride=args.stride, score_kind=args.score, frame_batch=args.frame_batch, num_workers=args.num_workers,
        device=args.device, allow_leakage=args.allow_leakage, heatmap_top_k=args.heatmap_top_k,
        prompts=args.prompts, max_num_patches=args.max_num_patches)
    print(result.table)
    print(f"wrote {result.metrics_json}, {result.metrics_md}")
    return 0
