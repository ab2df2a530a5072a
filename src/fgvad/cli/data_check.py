"""`fgvad data check`: validate an annotation JSON against its videos, one line per problem."""

from __future__ import annotations

import argparse
import json
import sys

from fgvad.cli.data_options import add_keyframe_base, add_path_map
from fgvad.data.paths import parse_path_map
from fgvad.data.validate import check_annotations, format_problem, format_summary
from fgvad.core.checks import existing_file, existing_folder

DESCRIPTION = (
    "Validate every entry of an annotation JSON and its videos. Prints one line per problem\n"
    "(entry index, video, field, what is wrong), then a summary. Errors: missing or undecodable\n"
    "video, bbox outside [0, 1] or inverted, keyframe beyond the video's frames, empty caption,\n"
    "region_captions/box_infos length mismatch, path outside --video-root, duplicate entry (same\n"
    "video, clip and captions). Warnings: non-English captions (Chinese is fine for a bilingual --model:\n"
    "FG-CLIP 2, SigLIP 2), captions over 248 tokens.\n"
    "Label Studio paths (/data/local-files/?d=REL) are read as REL under --video-root; other\n"
    "prefixes are rewritten with --path-map OLD=NEW. The summary counts entries per dataset\n"
    "(UCF-Crime, MSAD) when the file mixes them.\n"
    "Exit status: 0 no errors, 1 errors, 2 usage error (including a missing JSON file)."
)
EXAMPLES = """examples:
  fgvad data check ucf_fgclip_train_with_timestamps_en.json --video-root /data/UCF_Crimes
  fgvad data check ucf_fgclip_train_with_timestamps_en.json --video-root /data/UCF_Crimes --json > report.json
  fgvad data check ucf_train_zh_en.json --video-root /data/UCF_Crimes --model /models/fg-clip2-base
  fgvad data check ucf_fgclip_with_v3_msad.json --video-root /data/zyy/dataset   # Label Studio paths too
  fgvad data check export.json --video-root /data --path-map /mnt/old/videos/=videos/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="annotation JSON to check")
    parser.add_argument("--video-root", required=True, type=existing_folder, help="folder the entries' video paths are relative to")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of lines")
    parser.add_argument("--model", metavar="CKPT|TYPE", default=None,
                        help="the model you will train: a checkpoint folder (its config.json's model_type) or a "
                             "model_type (clip, fgclip2, siglip2); a bilingual one (FG-CLIP 2, SigLIP 2) reads "
                             "Chinese, so Chinese captions are not reported")
    add_keyframe_base(parser)
    add_path_map(parser)


def run(args: argparse.Namespace) -> int:
    from fgvad.core.text import CHINESE_SCRIPTS
    from fgvad.models.backbones import resolve_model_choice

    readable = CHINESE_SCRIPTS if args.model and resolve_model_choice(args.model).bilingual else ()
    report = check_annotations(args.file, args.video_root, args.keyframe_base, readable_scripts=readable,
                               path_map=parse_path_map(args.path_map))
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        problems = [("error", p) for p in report.errors] + [("warning", p) for p in report.warnings]
        problems.sort(key=lambda lp: lp[1].index)  # stable: errors before warnings within an entry
        for level, prob in problems:
            print(format_problem(level, prob))
        print(format_summary(report))
    return 1 if report.errors else 0
