"""`fgvad data hardneg`: write generated hard negatives into a training JSON."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_keyframe_base, add_strict, refuse_overwrite
from fgvad.core.checks import existing_file, output_file, positive_int, seed_int
from fgvad.core.errors import UsageError
from fgvad.core.io import write_text_atomic
from fgvad.data.tools.hardneg import DEFAULT_PER_REGION, hardneg_file, summary_lines

DESCRIPTION = """\
Generate hard negatives for every region caption of a training annotation JSON and write
them into each entry's "hard_negatives" field (one list per region), which the
hard-negative loss reads (--hard-negative-loss-weight, or the users' --use_hard_neg).

Each negative differs from its region caption in one detail: a colour, a count, an action,
or an object/attribute swapped from fgvad's word lists; captions with fewer such details
are completed from templates of the video's class. The output is deterministic (same file
and --seed, same negatives), never contains the positive itself, and keeps every other
byte: entries are copied as they are with the new field added before their closing brace;
malformed entries and entries that already have hard_negatives are carried through unchanged.
"""

EXAMPLES = """\
examples:
  fgvad data hardneg train_no_test.json --out train_hardneg.json
  fgvad train ucf_full --data-path train_hardneg.json --hard-negative-loss-weight 1.0 ...
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="training annotation JSON (a list of entries)")
    parser.add_argument("--out", required=True, type=output_file(), help="write the file with hard negatives here")
    parser.add_argument("--per-region", type=positive_int, default=DEFAULT_PER_REGION,
                        help=f"negatives per region caption (default {DEFAULT_PER_REGION})")
    parser.add_argument("--seed", type=seed_int, default=0, help="another seed gives another (deterministic) choice")
    add_keyframe_base(parser, "; used only to validate entries")
    add_strict(parser, "report malformed entries and carry them through unchanged")


def run(args: argparse.Namespace) -> int:
    refuse_overwrite(args.out, args.file)
    if args.per_region < 1:
        raise UsageError(f"--per-region must be at least 1, not {args.per_region}")
    text, report = hardneg_file(args.file, per_region=args.per_region, seed=args.seed,
                                keyframe_base=args.keyframe_base, strict=args.strict)
    for line in summary_lines(args.file, report):
        print(line)
    write_text_atomic(args.out, text)
    print(f"  wrote {args.out}")
    return 0
