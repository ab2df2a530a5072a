"""Training-step throughput of the video model (all losses, optimizer step), with the fast-path
check and the stock transformers baseline (eager and compiled) measured in the same run.

    .venv/bin/python bench/bench_train.py --size vit-b16 --frames 256 --batch 2
    .venv/bin/python bench/bench_train.py --size vit-b16 --preset ucf_24gb
    .venv/bin/python bench/bench_train.py --size tiny --frames 8 --steps 2      # CPU smoke run

Any `fgvad bench` option works; see `fgvad bench --help`. One JSON line per measurement.
"""

from __future__ import annotations

import sys

from fgvad.cli.bench import main_script

if __name__ == "__main__":
    sys.exit(main_script(["check", "train", "baseline"]))
