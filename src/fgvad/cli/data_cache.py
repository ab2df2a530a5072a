"""`fgvad data cache`: decode videos once into a memory-mapped frame cache."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_keyframe_base
from fgvad.core.constants import MAX_IMAGE_SIZE, MAX_NUM_FRAMES
from fgvad.data.annotations import load_annotations
from fgvad.data.cache import build_cache
from fgvad.core.checks import bounded_int, existing_file, existing_folder, output_folder, positive_int

DESCRIPTION = (
    "Decode every entry of an annotation JSON once (in parallel processes) into a\n"
    "memory-mapped uint8 frame cache: T uniform frames of the video or clip, resized\n"
    "whole (no crop) to SIZE x SIZE, plus the annotated keyframes. Re-running skips\n"
    "samples that are already cached with the same source file and settings."
)
EXAMPLES = """examples:
  fgvad data cache ucf_fgclip_train_with_timestamps_en.json \\
      --video-root /data/UCF_Crimes --out cache/ucf_t32_s224 --num-frames 32 --size 224 --workers 8
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="annotation JSON (the users' FG-CLIP VAD format)")
    parser.add_argument("--video-root", required=True, type=existing_folder, help="folder the entries' video paths are relative to")
    parser.add_argument("--out", required=True, type=output_folder, help="cache folder (created; re-runs resume)")
    parser.add_argument("--num-frames", type=bounded_int(1, MAX_NUM_FRAMES), required=True, help="uniformly sampled frames per video or clip")
    parser.add_argument("--size", type=bounded_int(8, MAX_IMAGE_SIZE), required=True, help="square frame size in pixels (model resolution)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="decoding processes (default: min(4, CPU count))")
    add_keyframe_base(parser)
    parser.add_argument("--verify", action="store_true",
                        help="re-read already cached files and rebuild those whose checksum differs")


def run(args: argparse.Namespace) -> int:
    entries = load_annotations(args.file, keyframe_base=args.keyframe_base)
    report = build_cache(entries, args.video_root, args.out, num_frames=args.num_frames, size=args.size,
                         workers=args.workers, verify=args.verify)
    rate = report.built / report.seconds if report.seconds > 0 else 0.0
    frate = report.frames / report.seconds if report.seconds > 0 else 0.0
    failed = len(report.failed or [])
    print(f"cache {args.out}: {report.built} built, {report.skipped} already cached, {failed} failed "
          f"in {report.seconds:.1f} s ({rate:.2f} videos/s, {frate:.0f} frames/s)")
    return 1 if failed else 0
