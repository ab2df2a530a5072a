"""`fgvad gt`: frame-level ground truth of a temporal test annotation as an .npz (fgvad.eval.gt)."""

from __future__ import annotations

import argparse
import sys

from fgvad.core.datasets import DATASETS
from fgvad.core.io import check_output_path
from fgvad.data.annotations import load_test_annotation
from fgvad.eval.gt import GT_MODES, build_ground_truth, check_gt_mode, resolve_frame_counts, save_ground_truth
from fgvad.core.checks import existing_file, existing_folder, output_file

DESCRIPTION = """\
Build frame-level ground truth for a benchmark's temporal test annotation as an .npz of uint8
arrays (one per video, key = video name without extension, in the official order).

--dataset picks the benchmark (ucf-crime by default, xd-violence, shanghaitech): its annotation
format, shipped annotation, video-name rule and ground-truth conventions.

Modes (public repos disagree, so fgvad names them):
  frames   every real frame, 0-based end-exclusive intervals clipped to n (default)
  i3d      the GT shipped with the public I3D features, reproduced exactly: UCF-Crime's
           1,109,680-frame arrays (RTFM/UR-DMU/PEL4VAD), XD-Violence's 800 per-video arrays
           (16*floor((n-1)/16) frames), ShanghaiTech's gt-sh.npy (16*ceil(n/16), mask padded)
  floor16  (UCF-Crime) 16*floor(n/16) frames (whole 16-frame snippets)

Frame counts come from --frame-counts (lines 'NAME N', further columns ignored, NAME with or
without folder and extension; 'ucf-crime' = the shipped UCF-Crime counts), from --video-root
(each video is probed), or from the annotation itself when it has them."""

EXAMPLES = """\
examples:
  fgvad gt --annotation ucf-crime --mode i3d --out gt_i3d.npz
  fgvad gt --dataset xd-violence --frame-counts xd_test_frames.txt --mode i3d --out xd_gt.npz
  fgvad gt --dataset shanghaitech --video-root /data/shanghaitech/test_videos --mode frames --out sh_gt.npz
  fgvad gt --annotation Temporal_Anomaly_Annotation_for_Testing_Videos.txt \\
           --video-root /data/UCF_Crimes/Videos --mode frames --out gt.npz"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=sorted(DATASETS),
                        help="benchmark whose conventions apply (default: ucf-crime, or the one --annotation names)")
    parser.add_argument("--annotation", metavar="FILE|NAME",
                        help="temporal test annotation (default: the dataset's official one, shipped)")
    parser.add_argument("--frame-counts", metavar="FILE|ucf-crime", type=existing_file("frame_counts"),
                        help="lines 'NAME N' with the real frame count of each video (further columns ignored)")
    parser.add_argument("--video-root", metavar="DIR", type=existing_folder, help="probe frame counts from the videos below DIR")
    parser.add_argument("--mode", choices=GT_MODES, default="frames", help="ground-truth convention (default: frames)")
    parser.add_argument("--out", required=True, metavar="FILE.npz", type=output_file(".npz"), help="output .npz")


def run(args: argparse.Namespace) -> int:
    dataset = args.dataset or (args.annotation if args.annotation in DATASETS else "ucf-crime")
    annotation = args.annotation or dataset
    check_gt_mode(args.mode, dataset)
    check_output_path(args.out if args.out.endswith(".npz") else args.out + ".npz", flag="--out")
    videos = load_test_annotation(annotation, dataset)
    counts, note = resolve_frame_counts(videos, annotation=annotation, frame_counts=args.frame_counts,
                                        video_root=args.video_root)
    gt = build_ground_truth(videos, counts, args.mode)
    out = save_ground_truth(args.out, gt)
    frames = sum(len(v) for v in gt.values())
    positives = sum(int(v.sum()) for v in gt.values())
    print(note, file=sys.stderr)
    print(f"wrote {out}: {len(gt)} {dataset} videos, {frames:,} frames, {positives:,} positive ({args.mode} mode)")
    return 0
