"""``fgvad bench``: argument parsing for :mod:`fgvad.bench`; prints one JSON line per measurement."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

from fgvad.bench.options import DEFAULT_WHAT, WHAT, BenchOptions, apply_preset
from fgvad.bench.sizes import SIZE_NAMES
from fgvad.core.checks import non_negative_int, output_file, output_folder, positive_int, seed_int

DESCRIPTION = (
    "Time the training step, inference, the fast-path check, the stock transformers baseline,\n"
    "the data path and a whole synthetic run, with random weights at a named model size.\n"
    "Prints one JSON line per measurement (device, versions, frames/s, MFU, peak memory)."
)

EXAMPLES = """examples:
  fgvad bench --size vit-b16 --frames 256 --batch 2                  # train, infer, check, baseline
  fgvad bench --size vit-b16 --preset ucf_24gb --what train          # the 24 GB preset's settings
  fgvad bench --size vit-b16 --what e2e --e2e-videos 232 --e2e-epochs 10
  fgvad bench --size tiny --frames 8 --steps 2 --what train infer    # seconds, on a CPU
"""


def parse_size_pair(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    return int(parts[0]), int(parts[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--size", default="vit-b16", choices=SIZE_NAMES, help="model size (random weights)")
    parser.add_argument("--what", nargs="+", default=list(DEFAULT_WHAT), metavar="WHAT",
                        help=f"measurements: {', '.join(WHAT)} or all (default: {' '.join(DEFAULT_WHAT)})")
    parser.add_argument("--frames", type=positive_int, default=256, help="frames per video (default %(default)s)")
    parser.add_argument("--batch", type=positive_int, default=2, help="videos per step (default %(default)s)")
    parser.add_argument("--steps", type=positive_int, default=10, help="timed steps (default %(default)s)")
    parser.add_argument("--warmup", type=non_negative_int, default=None, help="untimed steps first (default 3 on CUDA, 1 on CPU)")
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N (default: cuda when available)")
    parser.add_argument("--amp", default="auto", choices=("auto", "bf16", "fp32"),
                        help="compute dtype (default: bf16 autocast on CUDA, fp32 on CPU)")
    parser.add_argument("--compile", default="auto", choices=("auto", "true", "false"),
                        help="torch.compile the tower layers (default: on CUDA only)")
    parser.add_argument("--checkpointing-every", type=non_negative_int, default=0, metavar="K",
                        help="activation checkpointing of every K-th vision layer (0 = off, 1 = all)")
    parser.add_argument("--frame-chunk", type=non_negative_int, default=0,
                        help="frames per vision-tower call in training (0 = the whole batch in one call)")
    parser.add_argument("--infer-chunk", type=positive_int, default=512, help="frames per vision-tower call in inference")
    parser.add_argument("--freeze-vision-layers", type=non_negative_int, default=0, metavar="N",
                        help="CHANGES WHAT IS TRAINED: freeze the patch embedding and the first N vision layers")
    parser.add_argument("--preset", default=None,
                        help="take frames, batch, checkpointing, chunking and learning rates from a training "
                             "preset (e.g. ucf_24gb)")
    parser.add_argument("--workers", type=non_negative_int, default=2, help="DataLoader workers for data/e2e (default %(default)s)")
    parser.add_argument("--data-videos", type=positive_int, default=8, help="synthetic videos of the data bench")
    parser.add_argument("--e2e-videos", type=positive_int, default=8, help="synthetic training videos of the e2e bench")
    parser.add_argument("--e2e-epochs", type=positive_int, default=1, help="epochs of the e2e bench")
    parser.add_argument("--e2e-size", type=parse_size_pair, default=(320, 240), help="source video WxH (default 320x240)")
    parser.add_argument("--e2e-video-frames", type=positive_int, default=256, help="frames per synthetic source video")
    parser.add_argument("--workdir", default=None, type=output_folder, help="keep synthetic data and caches here (default: a temp folder)")
    parser.add_argument("--json-out", default=None, type=output_file(), help="also append the JSON lines to this file")
    parser.add_argument("--seed", type=seed_int, default=0)


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    what = tuple(WHAT) if "all" in args.what else tuple(args.what)
    options = BenchOptions(
        size=args.size, frames=args.frames, batch=args.batch, steps=args.steps, warmup=0, what=what,
        device=args.device, amp=args.amp, compile=args.compile, checkpointing_every=args.checkpointing_every,
        frame_chunk=args.frame_chunk, infer_chunk=args.infer_chunk, freeze_vision_layers=args.freeze_vision_layers,
        workers=args.workers, data_videos=args.data_videos, e2e_videos=args.e2e_videos, e2e_epochs=args.e2e_epochs,
        e2e_size=args.e2e_size, e2e_video_frames=args.e2e_video_frames, workdir=args.workdir, preset=args.preset,
        seed=args.seed,
    )
    if args.preset:
        apply_preset(options, args.preset)
    if args.warmup is None:
        import torch

        from fgvad.models.device import resolve_device

        on_cuda = resolve_device(args.device).type == "cuda" and torch.cuda.is_available()
        options.warmup = 3 if on_cuda else 1
    else:
        options.warmup = args.warmup
    return options


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from fgvad.core.io import check_output_path

    if args.json_out:
        check_output_path(args.json_out, flag="--json-out")
    if args.workdir:
        check_output_path(args.workdir, flag="--workdir", folder=True)
    options = options_from_args(args)
    out_file = Path(args.json_out) if args.json_out else None

    def emit(record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=False)
        print(line, flush=True)
        if out_file is not None:
            with out_file.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    from fgvad.bench.run import run_bench

    records = run_bench(options, emit)
    failed = [r for r in records if r.get("bench") == "check" and not r.get("ok")]
    return 1 if failed else 0


def main_script(default_what: Iterable[str], argv: list[str] | None = None) -> int:
    """Entry point of the ``bench/`` scripts: ``fgvad bench`` with another default ``--what``."""
    from fgvad.cli import main

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--what" not in argv:
        argv += ["--what", *default_what]
    return main(["bench", *argv])
