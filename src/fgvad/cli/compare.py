"""`fgvad compare`: many checkpoints on one test set -> one table and an AUC/AP-vs-step plot."""

from __future__ import annotations

import argparse

from fgvad.cli.eval import add_scoring_arguments
from fgvad.core.checks import existing_folder, output_folder
from fgvad.core.datasets import DATASETS
from fgvad.eval.gt import GT_MODES

DESCRIPTION = """\
Compare checkpoints on one test set: every checkpoint-N of one or more training runs (--run,
the final model included), single checkpoints (--checkpoint: e.g. the untouched CLIP and
FG-CLIP backbones, scored zero-shot), and eval folders `fgvad eval` already wrote (EVAL_DIR).
Each checkpoint is scored through the same protocol as `fgvad eval` (its options below) into
OUT/evals/<run>/<checkpoint>/ (reused when already there, so a rerun resumes), then OUT gets:
  compare.md / compare.json   one table: the dataset's headline metric first, AUC, AP (both
                              conventions), AUC on anomalous videos, false-alarm rate, per-class AUC
  compare.png                 frame AUC and AP against training step, one line per run
  report.html                 the table and the plot, linking each row's eval folder
Rows on different test sets (dataset, annotation, ground-truth mode) are refused."""

EXAMPLES = """\
examples:
  fgvad compare --run runs/ucf_full --video-root /data/UCF_Crimes/Videos --out compare/ucf_full
  fgvad compare --run runs/heads_clip --run runs/heads_fgclip --checkpoint /models/clip-vit-base-patch16 \\
      --checkpoint /models/fg-clip-base --video-root /data/UCF_Crimes/Videos --out compare/backbones
  fgvad compare eval/rtfm eval/ucf_full eval/zero_shot --out compare/methods"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("eval_dirs", nargs="*", metavar="EVAL_DIR", type=existing_folder, help="eval folders written by `fgvad eval`")
    parser.add_argument("--run", action="append", default=[], metavar="OUTPUT_DIR", type=existing_folder,
                        help="a training output folder: every checkpoint-N in it (repeatable)")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="CKPT", type=existing_folder,
                        help="one more checkpoint to score (repeatable)")
    parser.add_argument("--out", required=True, metavar="DIR", type=output_folder, help="output folder")
    test = parser.add_argument_group("the test set (as in `fgvad eval`)")
    test.add_argument("--dataset", choices=sorted(DATASETS), help="benchmark (default: ucf-crime)")
    test.add_argument("--test-annotation", metavar="FILE|NAME", help="temporal test annotation (default: shipped)")
    test.add_argument("--video-root", metavar="DIR", type=existing_folder, help="the test videos (needed to score checkpoints)")
    test.add_argument("--gt-mode", choices=GT_MODES, default="frames", help="ground-truth convention (default: frames)")
    scoring = add_scoring_arguments(parser)
    scoring.add_argument("--allow-leakage", action="store_true",
                         help="score checkpoints trained on test videos anyway (numbers are then invalid)")


def run(args: argparse.Namespace) -> int:
    from fgvad.core.errors import UsageError
    from fgvad.eval.compare import compare
    from fgvad.viz.compare import build_compare_report

    if (args.run or args.checkpoint) and not args.video_root:
        raise UsageError("--run/--checkpoint need --video-root DIR (where the test videos are) to score them")
    result = compare(out=args.out, eval_dirs=args.eval_dirs, runs=args.run, checkpoints=args.checkpoint,
                     dataset=args.dataset, test_annotation=args.test_annotation, video_root=args.video_root,
                     gt_mode=args.gt_mode, stride=args.stride, score_kind=args.score, frame_batch=args.frame_batch,
                     num_workers=args.num_workers, device=args.device, allow_leakage=args.allow_leakage,
                     prompts=args.prompts, max_num_patches=args.max_num_patches)
    report = build_compare_report(result.out)
    print(result.table)
    print(f"wrote {result.md_path}, {result.json_path}, {report.plot}")
    print(f"report: {report.html}")
    return 0
