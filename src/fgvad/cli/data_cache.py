"""`fgvad data cache`: decode videos once into a memory-mapped frame cache."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_keyframe_base, add_path_map, add_strict
from fgvad.core.checks import bounded_int, existing_file, existing_folder, output_folder, positive_int
from fgvad.core.constants import MAX_IMAGE_SIZE, MAX_NUM_FRAMES
from fgvad.data.annotations import read_annotations
from fgvad.data.cache import build_cache
from fgvad.data.paths import parse_path_map

DESCRIPTION = (
    "Decode every entry of an annotation JSON once (in parallel processes) into a\n"
    "memory-mapped uint8 frame cache: T uniform frames of the video or clip, resized\n"
    "whole (no crop) to SIZE x SIZE (FG-CLIP v1, CLIP), or for FG-CLIP 2 / SigLIP 2 to each\n"
    "video's NaFlex size (--max-num-patches: aspect kept, sides multiples of --patch-size),\n"
    "plus the annotated keyframes. Re-running skips samples that are already cached with\n"
    "the same source file and settings. Malformed entries are reported one per line and\n"
    "skipped (--strict refuses the file)."
)
EXAMPLES = """examples:
  fgvad data cache ucf_fgclip_train_with_timestamps_en.json \\
      --video-root /data/UCF_Crimes --out cache/ucf_t32_s224 --num-frames 32 --size 224 --workers 8
  fgvad data cache ucf_train_zh_en.json --video-root /data/UCF_Crimes --out cache/ucf_t32_p256 \
      --num-frames 32 --max-num-patches 256          # FG-CLIP 2: train with --max-num-patches 256
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="annotation JSON (the users' FG-CLIP VAD format)")
    parser.add_argument("--video-root", required=True, type=existing_folder,
                        help="folder the entries' video paths are relative to")
    parser.add_argument("--out", required=True, type=output_folder, help="cache folder (created; re-runs resume)")
    parser.add_argument("--num-frames", type=bounded_int(1, MAX_NUM_FRAMES), required=True,
                        help="uniformly sampled frames per video or clip")
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--size", type=bounded_int(8, MAX_IMAGE_SIZE),
                      help="square frame size in pixels (FG-CLIP v1 / CLIP resolution)")
    size.add_argument("--max-num-patches", type=bounded_int(1, MAX_NUM_FRAMES), metavar="N",
                      help="FG-CLIP 2 / SigLIP 2: NaFlex frames of at most N patches (the training option's value)")
    parser.add_argument("--patch-size", type=bounded_int(1, MAX_IMAGE_SIZE), default=16,
                        help="with --max-num-patches: the model's patch size (default 16)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="decoding processes (default: min(4, CPU count))")
    add_keyframe_base(parser)
    parser.add_argument("--verify", action="store_true",
                        help="re-read already cached files and rebuild those whose checksum differs")
    add_strict(parser, "report malformed entries and skip them")
    add_path_map(parser)


def run(args: argparse.Namespace) -> int:
    from fgvad.data.geometry import FrameGeometry

    size = (FrameGeometry.naflex(args.patch_size, args.max_num_patches) if args.max_num_patches is not None
            else args.size)
    path_map = parse_path_map(args.path_map)
    loaded = read_annotations(args.file, keyframe_base=args.keyframe_base, strict=args.strict)
    for problem in loaded.problems:
        print(f"skipped {problem.message}")
    if loaded.problems:
        print(f"{args.file}: {loaded.summary()}; they are skipped (not cached)")
    report = build_cache(loaded.entries, args.video_root, args.out, num_frames=args.num_frames, size=size,
                         workers=args.workers, verify=args.verify, path_map=path_map)
    rate = report.built / report.seconds if report.seconds > 0 else 0.0
    frate = report.frames / report.seconds if report.seconds > 0 else 0.0
    failed = len(report.failed or [])
    print(f"cache {args.out}: {report.built} built, {report.skipped} already cached, {failed} failed "
          f"in {report.seconds:.1f} s ({rate:.2f} videos/s, {frate:.0f} frames/s)")
    return 1 if failed else 0
