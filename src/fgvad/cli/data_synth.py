"""`fgvad data synth`: write the embedded synthetic surveillance dataset."""

from __future__ import annotations

import argparse

from fgvad.data.tools.synth import (DEFAULT_FRAMES, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_TEST_VIDEOS, DEFAULT_TRAIN_VIDEOS,
                                    generate_dataset)
from fgvad.core.checks import bounded_int, output_folder, seed_int

DESCRIPTION = """Write the embedded synthetic surveillance dataset: real H.264 mp4 files of small
static-camera scenes (people walking, cars, lamps, sensor noise) where anomalous videos
contain Fighting, Explosion, Abuse or Stealing events, in UCF-Crime's folder layout, with
train.json/test.json in the FG-CLIP VAD annotation format (global and region captions, box
tracks, 1-based keyframes), Temporal_Anomaly_Annotation.txt (official UCF format) and
test_frame_counts.txt. The same seed gives the same files."""

EXAMPLES = """examples:
  fgvad data synth --out synth                      # demo-sized: 48 train + 24 test videos
  fgvad data synth --out /tmp/s --train-videos 8 --test-videos 4 --frames 64 --size 96x64
  fgvad data check synth/train.json --video-root synth/videos
"""


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"must look like WIDTHxHEIGHT, e.g. 128x96, not {text!r}")
    return int(parts[0]), int(parts[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=output_folder, help="output folder (created; a previous synthetic set there is replaced)")
    parser.add_argument("--train-videos", type=bounded_int(2), default=DEFAULT_TRAIN_VIDEOS, help="training videos, half anomalous (default %(default)s)")
    parser.add_argument("--test-videos", type=bounded_int(2), default=DEFAULT_TEST_VIDEOS, help="test videos, half anomalous (default %(default)s)")
    parser.add_argument("--seed", type=seed_int, default=DEFAULT_SEED, help="random seed; the same seed gives the same files (default %(default)s)")
    parser.add_argument("--size", type=parse_size, default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="frame size WIDTHxHEIGHT, even numbers (default %(default)s)")
    parser.add_argument("--frames", type=bounded_int(32, 3000), default=DEFAULT_FRAMES, help="frames per video at 30 fps (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    info = generate_dataset(args.out, train_videos=args.train_videos, test_videos=args.test_videos, seed=args.seed,
                            size=args.size, frames=args.frames, progress=True)
    print(f"wrote {info.n_train} training and {info.n_test} test videos ({info.size[0]}x{info.size[1]}, "
          f"{info.frames} frames) to {info.root} in {info.seconds:.1f} s")
    print(f"  train annotation: {info.train_json}")
    print(f"  test annotation:  {info.temporal_annotation}")
    print(f"  video root:       {info.video_root}")
    return 0
