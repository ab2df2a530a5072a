"""`fgvad eval`: UCF-Crime-protocol metrics for a checkpoint (and its zero-shot baseline) or
for precomputed per-frame scores of any method.

Output folder (the viz command draws everything from it):
  metrics.json, metrics.md   the numbers (with the baseline side by side when given)
  gt.npz                     the ground truth used, in --gt-mode
  scores/<name>.npy          the evaluated per-frame scores, aligned with gt.npz
  eval_meta.json             checkpoint, annotation, gt mode, video root, per-video class/frames
  baseline/                  the same files for --baseline / --baseline-scores
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Mapping

import numpy as np

from fgvad.data.annotations import TestVideo, load_test_annotation
from fgvad.core.errors import EvalError, UsageError

DESCRIPTION = """\
Evaluate on the UCF-Crime protocol: frame ROC-AUC, AP (average_precision_score and the
trapezoid AP of RTFM-style repos), AUC on anomalous videos, per-class AUC and the false-alarm
rate on normal videos, with the ground-truth convention named (--gt-mode).

Either score the test videos with a checkpoint (--checkpoint, --video-root; refused when the
checkpoint was trained on test videos unless --allow-leakage), optionally beside the untouched
model scored zero-shot by prompts (--baseline), or evaluate precomputed scores of any method
(--scores DIR of <video name>.npy files, one score per frame; --expand 16 for one per snippet)."""

EXAMPLES = """\
examples:
  fgvad eval --checkpoint runs/ucf_full/checkpoint-2000 --baseline /models/fg-clip-base \\
             --video-root /data/UCF_Crimes/Videos --test-annotation ucf-crime --out eval/ucf_full
  fgvad eval --scores rtfm_scores/ --expand 16 --frame-counts ucf-crime --gt-mode i3d --out eval/rtfm"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_argument_group("what to evaluate (one of)")
    src.add_argument("--checkpoint", metavar="CKPT", help="fgvad/FG-CLIP/CLIP checkpoint folder to score the videos with")
    src.add_argument("--scores", metavar="DIR", help="folder of precomputed <video name>.npy score arrays")
    parser.add_argument("--baseline", metavar="CKPT0",
                        help="untouched checkpoint scored zero-shot by prompts, reported beside --checkpoint")
    parser.add_argument("--baseline-scores", metavar="DIR", help="precomputed scores reported beside --scores")
    parser.add_argument("--test-annotation", default="ucf-crime", metavar="FILE|ucf-crime",
                        help="temporal test annotation (default: the official one, shipped)")
    parser.add_argument("--video-root", metavar="DIR",
                        help="UCF-Crime videos: DIR/Folder/Name.mp4, or found by name anywhere below DIR")
    parser.add_argument("--frame-counts", metavar="FILE|ucf-crime",
                        help="frame counts for --scores ('Folder/Name.mp4 n Class ...'; 'ucf-crime' = shipped)")
    parser.add_argument("--gt-mode", choices=("frames", "floor16", "i3d"), default="frames",
                        help="ground-truth convention (default: frames = every real frame)")
    parser.add_argument("--expand", type=int, metavar="N",
                        help="--scores hold one score per N-frame snippet: repeat each over its N frames")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--threshold", type=float, default=0.5, help="score threshold of far_normal (default 0.5)")
    scoring = parser.add_argument_group("scoring with a checkpoint")
    scoring.add_argument("--stride", type=int, default=16, help="score one frame per STRIDE frames (default 16)")
    scoring.add_argument("--score", choices=("auto", "mil", "prompt", "mix"), default="auto",
                         help="score kind; auto = MIL head for a trained fgvad checkpoint, prompts otherwise")
    scoring.add_argument("--frame-batch", type=int, default=256, help="frames per vision-tower call (default 256)")
    scoring.add_argument("--num-workers", type=int, default=4, help="decoding worker processes (default 4)")
    scoring.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument("--allow-leakage", action="store_true",
                        help="evaluate even if the checkpoint was trained on test videos (numbers are then invalid)")


# --------------------------------------------------------------------------- helpers


def load_score_dir(folder: str | Path) -> dict[str, np.ndarray]:
    """``<name>.npy`` files of a folder, keyed by file name without extension (safe load, no pickle)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalError(f"{folder}: scores folder not found")
    scores = {}
    for path in sorted(folder.glob("*.npy")):
        try:
            scores[path.stem] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise EvalError(f"{path}: not a numeric .npy array ({err})") from None
        if scores[path.stem].dtype.kind not in "biuf":
            raise EvalError(f"{path}: scores must be numbers, found dtype {scores[path.stem].dtype}")
    if not scores:
        raise EvalError(f"{folder}: no .npy score files")
    return scores


def _save_outputs(out: Path, scores: Mapping[str, np.ndarray], gt: Mapping[str, np.ndarray], metrics: dict,
                  meta: dict) -> None:
    from fgvad.eval.gt import save_ground_truth
    from fgvad.eval.metrics import write_metrics

    (out / "scores").mkdir(parents=True, exist_ok=True)
    for name in gt:
        np.save(out / "scores" / f"{name}.npy", np.asarray(scores[name], dtype=np.float32))
    save_ground_truth(out / "gt.npz", gt)
    write_metrics(out, metrics)
    (out / "eval_meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def _meta(args: argparse.Namespace, videos: list[TestVideo], counts: Mapping[str, int],
          gt: Mapping[str, np.ndarray], **extra: object) -> dict:
    return {
        "annotation": str(args.test_annotation),
        "gt_mode": args.gt_mode,
        "video_root": str(args.video_root) if args.video_root else None,
        "threshold": args.threshold,
        **extra,
        "videos": [{"name": tv.name, "class": tv.label, "n_frames": int(counts[tv.name]),
                    "gt_frames": int(len(gt[tv.name])), "intervals": [list(i) for i in tv.intervals]}
                   for tv in videos],
    }


def _evaluate_precomputed(args: argparse.Namespace, videos: list[TestVideo], scores_dir: str, out: Path) -> dict:
    from fgvad.eval.gt import build_ground_truth, resolve_frame_counts
    from fgvad.eval.metrics import align_scores, compute_metrics

    counts, note = resolve_frame_counts(videos, annotation=str(args.test_annotation),
                                        frame_counts=args.frame_counts, video_root=args.video_root)
    print(note, file=sys.stderr)
    gt = build_ground_truth(videos, counts, args.gt_mode)
    aligned = align_scores(load_score_dir(scores_dir), gt, expand=args.expand, gt_mode=args.gt_mode)
    metrics = compute_metrics(aligned, gt, {tv.name: tv.label for tv in videos},
                              gt_mode=args.gt_mode, threshold=args.threshold)
    _save_outputs(out, aligned, gt, metrics, _meta(args, videos, counts, gt, checkpoint=None,
                                                   scores_from=str(scores_dir), expand=args.expand))
    return metrics


def _evaluate_checkpoint(args: argparse.Namespace, videos: list[TestVideo], checkpoint: str, out: Path,
                         paths: Mapping[str, Path], *, baseline: bool) -> dict:
    from fgvad.eval.gt import build_ground_truth
    from fgvad.eval.leakage import check_leakage
    from fgvad.eval.metrics import compute_metrics
    from fgvad.eval.score import load_scorer, read_checkpoint_trained_on, score_videos

    leaked = check_leakage(read_checkpoint_trained_on(checkpoint), videos, allow=args.allow_leakage,
                           source=f"checkpoint {checkpoint}")
    if leaked:
        print(f"warning: {checkpoint} was trained on {len(leaked)} test videos; its numbers are not a valid "
              "test result (--allow-leakage)", file=sys.stderr)
    # The baseline is the untouched model zero-shot, so it is always scored by prompts.
    scorer = load_scorer(checkpoint, kind="prompt" if baseline else args.score,
                         device=args.device, frame_batch=max(1, args.frame_batch))
    print(f"scoring {len(paths)} videos with {checkpoint} ({scorer.kind} scores)", file=sys.stderr)
    full = dict(score_videos(scorer, paths, stride=args.stride, num_workers=args.num_workers))
    # Scores cover every real frame, so the decoded length is the video's frame count; the
    # floor16/i3d conventions then evaluate a prefix of those frames, by definition.
    counts = {name: len(s) for name, s in full.items()}
    gt = build_ground_truth(videos, counts, args.gt_mode)
    aligned = {name: full[name][: len(labels)] for name, labels in gt.items()}
    metrics = compute_metrics(aligned, gt, {tv.name: tv.label for tv in videos},
                              gt_mode=args.gt_mode, threshold=args.threshold)
    metrics["score_kind"] = scorer.kind
    _save_outputs(out, aligned, gt, metrics, _meta(
        args, videos, counts, gt, checkpoint=str(checkpoint), scores_from=None, score_kind=scorer.kind, stride=args.stride,
        leaked_test_videos=leaked, paths={name: str(p) for name, p in paths.items()}))
    return metrics


def run(args: argparse.Namespace) -> int:
    from fgvad.eval.metrics import write_metrics

    if (args.checkpoint is None) == (args.scores is None):
        raise UsageError("give exactly one of --checkpoint CKPT or --scores DIR")
    if args.baseline and not args.checkpoint:
        raise UsageError("--baseline CKPT0 goes with --checkpoint (use --baseline-scores DIR with --scores)")
    if args.baseline_scores and not args.scores:
        raise UsageError("--baseline-scores DIR goes with --scores (use --baseline CKPT0 with --checkpoint)")
    if args.expand is not None and (args.checkpoint or args.expand < 1):
        raise UsageError("--expand N (N >= 1) applies to --scores only")
    if args.stride < 1:
        raise UsageError(f"--stride must be >= 1, not {args.stride}")
    videos = load_test_annotation(args.test_annotation)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.scores:
        metrics = _evaluate_precomputed(args, videos, args.scores, out)
        baseline = (_evaluate_precomputed(args, videos, args.baseline_scores, out / "baseline")
                    if args.baseline_scores else None)
        names = {"name": Path(args.scores).name or "scores",
                 "baseline_name": Path(args.baseline_scores).name if args.baseline_scores else "baseline"}
    else:
        from fgvad.eval.gt import locate_test_videos

        if not args.video_root:
            raise UsageError("--checkpoint needs --video-root DIR (where the test videos are)")
        paths = locate_test_videos(args.video_root, videos)
        metrics = _evaluate_checkpoint(args, videos, args.checkpoint, out, paths, baseline=False)
        baseline = (_evaluate_checkpoint(args, videos, args.baseline, out / "baseline", paths, baseline=True)
                    if args.baseline else None)
        names = {"name": "checkpoint", "baseline_name": "baseline (zero-shot)"}
    table = write_metrics(out, metrics, baseline, **names)
    print(table.split("\n\nDefinitions:")[0])
    print(f"wrote {out / 'metrics.json'}, {out / 'metrics.md'}")
    return 0
