"""Inference throughput (frames/s) of the video model on uint8 frames already on the device,
next to the stock transformers vision tower (its inference line is in the baseline output).

    .venv/bin/python bench/bench_infer.py --size vit-b16 --frames 256 --batch 2 --infer-chunk 512
    .venv/bin/python bench/bench_infer.py --size tiny --frames 8 --steps 2      # CPU smoke run
"""

from __future__ import annotations

import sys

from fgvad.cli.bench import main_script

if __name__ == "__main__":
    sys.exit(main_script(["infer", "baseline"]))
