"""`fgvad gt`: frame-level ground truth of a temporal test annotation as an .npz (fgvad.eval.gt)."""

from __future__ import annotations

import argparse
import sys

from fgvad.core.io import check_output_path
from fgvad.data.annotations import load_test_annotation
from fgvad.eval.gt import GT_MODES, build_ground_truth, resolve_frame_counts, save_ground_truth
from fgvad.core.checks import existing_file, existing_folder, output_file

DESCRIPTION = """\
Build frame-level ground truth for a temporal test annotation as an .npz of uint8 arrays
(one per video, key = video name without extension).

Modes (see docs; public repos disagree, so fgvad names them):
  frames   every real frame, 0-based end-exclusive intervals clipped to n (default)
  floor16  16*floor(n/16) frames (whole 16-frame snippets)
  i3d      the I3D-feature ground truth of RTFM/UR-DMU/PEL4VAD, reproduced exactly

Frame counts come from --frame-counts (a 'Folder/Name.mp4 n Class s1 e1 s2 e2' file, or
'ucf-crime' for the shipped one), from --video-root (each video is probed), or from the
annotation itself when it is in that format."""

EXAMPLES = """\
examples:
  fgvad gt --annotation ucf-crime --mode i3d --out gt_i3d.npz
  fgvad gt --annotation Temporal_Anomaly_Annotation_for_Testing_Videos.txt \\
           --video-root /data/UCF_Crimes/Videos --mode frames --out gt.npz"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--annotation", default="ucf-crime", metavar="FILE|ucf-crime",
                        type=existing_file("test_annotation"),
                        help="temporal test annotation (default: the official UCF-Crime one, shipped)")
    parser.add_argument("--frame-counts", metavar="FILE|ucf-crime", type=existing_file("frame_counts"),
                        help="'Folder/Name.mp4 n Class ...' file with the real frame counts")
    parser.add_argument("--video-root", metavar="DIR", type=existing_folder, help="probe frame counts from the videos below DIR")
    parser.add_argument("--mode", choices=GT_MODES, default="frames", help="ground-truth convention (default: frames)")
    parser.add_argument("--out", required=True, metavar="FILE.npz", type=output_file(".npz"), help="output .npz")


def run(args: argparse.Namespace) -> int:
    check_output_path(args.out if args.out.endswith(".npz") else args.out + ".npz", flag="--out")
    videos = load_test_annotation(args.annotation)
    counts, note = resolve_frame_counts(videos, annotation=args.annotation, frame_counts=args.frame_counts,
                                        video_root=args.video_root)
    gt = build_ground_truth(videos, counts, args.mode)
    out = save_ground_truth(args.out, gt)
    frames = sum(len(v) for v in gt.values())
    positives = sum(int(v.sum()) for v in gt.values())
    print(note, file=sys.stderr)
    print(f"wrote {out}: {len(gt)} videos, {frames:,} frames, {positives:,} positive ({args.mode} mode)")
    return 0

