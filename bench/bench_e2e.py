"""Data path and end to end: synthetic videos at UCF resolution -> frame cache -> pinned batches
-> device (frames/s), then cache + K epochs of `fgvad train` on a random-weight model (wall-clock).

    .venv/bin/python bench/bench_e2e.py --size vit-b16 --frames 256 --batch 2 \
        --e2e-videos 232 --e2e-epochs 10 --workers 8 --workdir /tmp/fgvad-e2e
    .venv/bin/python bench/bench_e2e.py --size tiny --frames 8 --e2e-videos 2 --e2e-size 64x48 \
        --e2e-video-frames 32 --data-videos 2 --workers 0                      # CPU smoke run
"""

from __future__ import annotations

import sys

from fgvad.cli.bench import main_script

if __name__ == "__main__":
    sys.exit(main_script(["data", "e2e"]))
