"""`fgvad features extract`: per-snippet backbone features of videos, once (fgvad.features)."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_keyframe_base
from fgvad.core.checks import existing_folder, non_negative_int, output_folder, positive_int
from fgvad.core.constants import DEFAULT_FRAME_BATCH, SNIPPET_FRAMES
from fgvad.core.datasets import DATASETS
from fgvad.data.features import STORAGE_DTYPES

DESCRIPTION = f"""\
Extract per-snippet image features of videos with a frozen backbone (an FG-CLIP v1 or CLIP
folder, or an fgvad checkpoint trained from one), once, for `fgvad train --features` (the
temporal module and MIL head train on them in minutes on a CPU).

Each video is cut into snippets of --snippet-frames frames ({SNIPPET_FRAMES}, the I3D/CLIP-feature
convention); a snippet's feature is the backbone's image embedding of its centre frame (the frame
`fgvad eval` scores it by), or the mean over --frames-per-snippet frames spread over it.
Writes OUT/features.json (backbone path and weight hashes, settings) and OUT/videos/<name>.npz.
Resumable: videos already in OUT are skipped, every file is written atomically; OUT holds one
backbone's features only.

Which videos: --annotation (the videos of a training JSON), --videos (a list, one path per line
relative to --video-root, or a shipped list such as ucf-crime-test), else every video below
--video-root. Names follow --dataset's rule (the names annotations and test lists use)."""

EXAMPLES = """\
examples:
  fgvad features extract --checkpoint /models/fg-clip-base --video-root /data/UCF_Crimes/Videos \\
      --annotation train_clean.json --out feats/fgclip_ucf_train
  fgvad features extract --checkpoint /models/clip-vit-base-patch16 --video-root /data/UCF_Crimes/Videos \\
      --videos ucf-crime-train --out feats/clip_ucf_train
  fgvad train demo --data-path train.json --features feats/fgclip_ucf_train --output_dir runs/heads"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="CKPT", type=existing_folder, help="backbone folder (FG-CLIP v1 or CLIP)")
    parser.add_argument("--video-root", required=True, metavar="DIR", type=existing_folder,
                        help="folder the video paths are relative to")
    parser.add_argument("--out", required=True, metavar="FEATS", type=output_folder, help="features folder (created, or resumed)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--annotation", metavar="JSON", help="extract the videos of this training annotation")
    which.add_argument("--videos", metavar="LIST|NAME-test|NAME-train",
                       help="extract the videos of this list (one path per line; or a shipped list)")
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="ucf-crime",
                        help="whose video-name rule names the feature files (default: ucf-crime)")
    parser.add_argument("--snippet-frames", type=positive_int, default=SNIPPET_FRAMES,
                        help=f"frames per snippet (default {SNIPPET_FRAMES})")
    parser.add_argument("--frames-per-snippet", type=positive_int, default=1,
                        help="frames encoded and averaged per snippet (default 1: the centre frame)")
    parser.add_argument("--dtype", choices=STORAGE_DTYPES, default="float16",
                        help="storage precision of the features (default float16: half the disk, ~1e-3 relative)")
    parser.add_argument("--frame-batch", type=positive_int, default=DEFAULT_FRAME_BATCH,
                        help=f"frames per backbone call (default {DEFAULT_FRAME_BATCH})")
    parser.add_argument("--num-workers", type=non_negative_int, default=2, help="decoding worker processes (default 2)")
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    add_keyframe_base(parser, "; used only to read --annotation")


def run(args: argparse.Namespace) -> int:
    from fgvad.features import extract_features

    result = extract_features(
        args.checkpoint, video_root=args.video_root, out=args.out, annotation=args.annotation, videos=args.videos,
        dataset=args.dataset, snippet_frames=args.snippet_frames, frames_per_snippet=args.frames_per_snippet,
        dtype=args.dtype, frame_batch=args.frame_batch, num_workers=args.num_workers, device=args.device,
        keyframe_base=args.keyframe_base)
    print(f"wrote {result.out}: {len(result.extracted)} videos extracted ({result.snippets:,} snippets), "
          f"{len(result.skipped)} already there, {result.seconds:.1f} s")
    return 0
