"""`fgvad demo`: parse, call fgvad.demo.run_demo(), print the table, the verdict and the timings."""

from __future__ import annotations

import argparse

from fgvad.core.checks import output_folder, seed_int
from fgvad.demo import DEFAULT_HELDOUT_OUT, DEFAULT_OUT, HELDOUT_TARGET_AUC, QUICK, TARGET_AUC

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
  fgvad demo --quick                  # a smaller, faster smoke run (numbers not meant to impress)
  fgvad demo --heldout --seeds 0,1,2  # the same preset on the held-out generator, three seeds, a summary"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default=None, metavar="DIR", type=output_folder,
                        help=f"output folder (default ./{DEFAULT_OUT}; a previous demo there is replaced)")
    parser.add_argument("--seed", type=seed_int, default=None, help="seed of the dataset and the training (default 0)")
    parser.add_argument("--seeds", default=None, metavar="S1,S2,...",
                        help="run once per seed (into OUT/seed<S>) and print a summary table of them")
    parser.add_argument("--heldout", action="store_true",
                        help="data from the held-out generator (other scenes, cameras, events, 176x144, 150-400 "
                             "frames), never used to develop the preset; same preset, nothing else changes "
                             f"(default --out ./{DEFAULT_HELDOUT_OUT})")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK.train_videos} training / {QUICK.test_videos} test videos, {QUICK.epochs:g} "
                             "epochs: a smoke run of every step")


def _seeds(args: argparse.Namespace) -> list[int]:
    from fgvad.core.errors import UsageError

    if args.seeds is not None and args.seed is not None:
        raise UsageError("give --seed S or --seeds S1,S2,..., not both")
    if args.seeds is None:
        return [args.seed or 0]
    try:
        seeds = [seed_int(s) for s in args.seeds.split(",") if s.strip()]
    except argparse.ArgumentTypeError:
        raise UsageError(f"--seeds {args.seeds!r}: expected seeds (integers 0 .. 2**32-1) separated by commas, e.g. 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise UsageError(f"--seeds {args.seeds!r}: expected distinct integers, e.g. 0,1,2")
    return seeds


def verdict_line(auc: float, baseline_auc: float, heldout: bool = False) -> str:
    """One line: the trained AUC against the baseline and against its target (0.90 for the
    embedded demo, 0.85 per seed for the held-out generator)."""
    target = HELDOUT_TARGET_AUC if heldout else TARGET_AUC
    verdict = "above" if auc > baseline_auc else "NOT above"
    return (f"frame AUC {auc:.4f} (trained) vs {baseline_auc:.4f} (untouched initial model): {verdict} the "
            f"baseline" + ("" if auc >= target else f", below the {target:.2f} target"))


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from fgvad.demo import run_demo, summary_table

    seeds = _seeds(args)
    out = Path(args.out or (DEFAULT_HELDOUT_OUT if args.heldout else DEFAULT_OUT))
    results = {}
    for seed in seeds:
        folder = out / f"seed{seed}" if args.seeds is not None else out
        result = results[seed] = run_demo(folder, seed=seed, quick=args.quick, heldout=args.heldout)
        s = result.seconds
        print()
        print(f"seed {seed}" + (" (held-out generator)" if args.heldout else ""))
        print(result.table.rstrip())
        print()
        print(verdict_line(result.auc, result.baseline_auc, heldout=args.heldout))
        per = result.metrics.get("per_class_auc", {})
        if per:
            print("per class: " + ", ".join(f"{c} {v:.3f}" for c, v in sorted(per.items())))
        print(f"time: {s['total']:.0f} s = data {s['synth']:.0f} s + training {s['train']:.0f} s + "
              f"evaluation {s['eval']:.0f} s + visualisation {s['viz']:.0f} s")
        print(f"report: {result.report}")
    if len(results) > 1:
        print()
        print(("held-out generator, " if args.heldout else "") + "demo preset, one row per seed:")
        print(summary_table(results))
    return 0
