"""`fgvad viz EVAL_DIR`: parse, call fgvad.viz.report.build_report(), print what was written."""

from __future__ import annotations

import argparse
import sys

from fgvad.eval.folder import DEFAULT_HEATMAP_TOP_K
from fgvad.core.checks import existing_folder, non_negative_int

DESCRIPTION = """\
Draw what `fgvad eval` measured and saved: for each test video a PNG of its per-frame anomaly
score with the ground-truth anomaly shaded (the baseline's score dashed, when evaluated); the
spatial heatmaps `fgvad eval` computed at the top-scored frames of each anomalous video (each
names its kind: mil = the MIL score's drop when the patch is greyed out, for MIL scores; prompt
= 1 - P(normal prompt) per patch, for prompt scores) over the frame; and
EVAL_DIR/report.html, one static page with the metrics table and all images, readable offline.
An `fgvad compare` folder gets its table and AUC/AP-vs-step plot redrawn instead.
Reads files only: no model, no GPU, no videos."""

EXAMPLES = """\
examples:
  fgvad viz eval/ucf_full
  fgvad viz eval/demo --top-k 1
  fgvad viz eval/rtfm --no-heatmaps          # precomputed scores: curves and table only"""

# Options that drove the heatmap model before `fgvad eval` computed the maps: still accepted.
_NO_LONGER_NEEDED = (("checkpoint", "--checkpoint"), ("device", "--device"), ("video_root", "--video-root"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("eval_dir", metavar="EVAL_DIR", type=existing_folder, help="output folder of `fgvad eval` (or of `fgvad compare`)")
    parser.add_argument("--top-k", type=non_negative_int, default=DEFAULT_HEATMAP_TOP_K,
                        help="heatmaps drawn per anomalous video, of those `fgvad eval` saved "
                             f"(default {DEFAULT_HEATMAP_TOP_K})")
    parser.add_argument("--no-heatmaps", action="store_true", help="score curves and the table only")
    old = parser.add_argument_group("no longer needed (heatmaps now come from `fgvad eval`; accepted, with a note)")
    old.add_argument("--checkpoint", metavar="CKPT", help="ignored")
    old.add_argument("--device", help="ignored")
    old.add_argument("--video-root", metavar="DIR", help="ignored: the heatmaps' frames are in EVAL_DIR")


def run(args: argparse.Namespace) -> int:
    from fgvad.viz.report import VIZ_FOLDER, build_report

    for dest, flag in _NO_LONGER_NEEDED:
        if getattr(args, dest) is not None:
            print(f"fgvad: note: {flag} is not needed: heatmaps now come from `fgvad eval` (EVAL_DIR/heatmaps)",
                  file=sys.stderr)
    from fgvad.viz.compare import build_compare_report, is_compare_folder

    if is_compare_folder(args.eval_dir):  # an `fgvad compare` folder: its table and plot
        compared = build_compare_report(args.eval_dir)
        print(f"wrote {compared.plot}")
        print(f"report: {compared.html}")
        return 0
    result = build_report(args.eval_dir, top_k=args.top_k, heatmaps=not args.no_heatmaps)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {len(result.curves)} score curves and {len(result.heatmaps)} heatmaps to "
          f"{result.html.parent / VIZ_FOLDER}")
    print(f"report: {result.html}")
    return 0
