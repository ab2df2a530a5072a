#!/usr/bin/env python
"""Development set: the embedded generator's dataset with the events' drawn marks left out.

Each embedded event carries a mark that one frame shows: impact stars (Fighting, Abuse), a blood
pool (Abuse), a speed streak (Stealing). Without them those events are told apart only by
people's poses and motion; the fireball is the explosion itself and stays. The plans, actors
and annotations are those of ``fgvad data synth`` with the same seed: only the marks' pixels
differ. With the demo preset of 8fc9fda, the demo's data (seed 0) gave frame AUC 0.954 / 0.940 /
0.926 (training seeds 0-2) with the marks and 0.582 / 0.748 / 0.425 without (README, "The
held-out check"). A development tool: it swaps three draw methods for this process only.

    python scripts/dev_synth_without_marks.py out/plain --seed 0
    python scripts/dev_synth_without_marks.py out/plain_long --seed 21 --train-videos 144 --frames 300 --size 176x144
    fgvad train demo --data-path out/plain/train.json --video-root out/plain/videos ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fgvad.data.tools.synth import actors, generate_dataset
from fgvad.data.tools.synth.plan import DEFAULT_SIZE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output folder (the dataset, in UCF-Crime's layout)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (0 is the demo's data)")
    parser.add_argument("--train-videos", type=int, default=192)
    parser.add_argument("--test-videos", type=int, default=24)
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", default="x".join(map(str, DEFAULT_SIZE)), help="WxH of the videos (default: the demo's)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    for mark in (actors.Impacts, actors.Pool, actors.Streak):
        mark.draw = lambda self, img, t: None
    info = generate_dataset(args.out, train_videos=args.train_videos, test_videos=args.test_videos,
                            seed=args.seed, size=(width, height), frames=args.frames, workers=1)  # one process: the swapped methods live here
    with open(Path(args.out) / "README.md", "a", encoding="utf-8") as readme:  # the generator's README describes the marks
        readme.write("\nWritten by scripts/dev_synth_without_marks.py: the impact stars, blood pools and speed "
                     "streaks described above are NOT drawn.\n")
    print(f"{info.n_train} training + {info.n_test} test videos without drawn marks -> {args.out}")


if __name__ == "__main__":
    main()
