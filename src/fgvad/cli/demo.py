"""`fgvad demo`: parse, call fgvad.demo.run_demo(), print the table, the verdict and the timings."""

from __future__ import annotations

import argparse

from fgvad.demo import DEFAULT_OUT, QUICK, TARGET_AUC
from fgvad.core.checks import output_folder, seed_int

DESCRIPTION = """\
Run the whole pipeline on the embedded synthetic surveillance dataset: write the videos,
train a tiny FG-CLIP-style video model from scratch with the demo preset, evaluate it on the
synthetic test videos beside the untouched initial model (frame AUC, AP, per-class AUC,
false alarms, heatmaps), draw score curves and heatmaps, and write report.html. Prints the
metrics table and where the report is. About 2-3 minutes on 2 CPU cores; no GPU, no network."""

EXAMPLES = """\
examples:
  fgvad demo                          # writes ./demo_out, prints the table and demo_out/eval/report.html
  fgvad demo --out /tmp/demo --seed 1
  fgvad demo --quick                  # a smaller, faster smoke run (numbers not meant to impress)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR", type=output_folder,
                        help=f"output folder (default ./{DEFAULT_OUT}; a previous demo there is replaced)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the dataset and the training (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK.train_videos} training / {QUICK.test_videos} test videos, {QUICK.epochs:g} "
                             "epochs: a smoke run of every step")


def run(args: argparse.Namespace) -> int:
    from fgvad.demo import run_demo

    result = run_demo(args.out, seed=args.seed, quick=args.quick)
    s = result.seconds
    print()
    print(result.table.rstrip())
    print()
    verdict = "above" if result.auc > result.baseline_auc else "NOT above"
    print(f"frame AUC {result.auc:.4f} (trained) vs {result.baseline_auc:.4f} (untouched initial model): "
          f"{verdict} the baseline" + ("" if result.auc >= TARGET_AUC else f", below the {TARGET_AUC:.2f} target"))
    print(f"time: {s['total']:.0f} s = data {s['synth']:.0f} s + training {s['train']:.0f} s + "
          f"evaluation {s['eval']:.0f} s + visualisation {s['viz']:.0f} s")
    print(f"report: {result.report}")
    return 0
