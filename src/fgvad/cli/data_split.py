"""`fgvad data split`: remove (or report) the UCF-Crime test videos in a training JSON."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_keyframe_base, refuse_overwrite
from fgvad.core.io import write_text_atomic
from fgvad.data.tools.split import load_test_keys, read_json_list_text, split_entries, summary_lines
from fgvad.core.checks import existing_file, output_file

DESCRIPTION = """\
Remove the UCF-Crime test videos from a training annotation JSON (or only report them).

Test membership is by canonical video name, so Normal_Videos_924_x264 (official spelling)
and Normal_Videos924_x264 (common in annotation files) are the same video. Kept entries
are copied byte for byte. The official 290-video test list ships with fgvad; --test-list
takes any other list (one path per line; the first column of a temporal annotation works).
"""

EXAMPLES = """\
examples:
  fgvad data split ucf_fgclip_train_with_timestamps_en.json --out train_no_test.json
  fgvad data split ucf_fgclip_train_with_timestamps_en.json --check   # exit 1 on overlap
  fgvad data split train.json --test-list my_test_videos.txt --out train_clean.json
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="training annotation JSON (a list of entries)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=output_file(), help="write the file without test videos here")
    mode.add_argument("--check", action="store_true",
                      help="only report; exit status 1 when the file contains test videos")
    parser.add_argument("--test-list", default="ucf-crime-test", type=existing_file("video_list"),
                        help="test videos, one path per line (default: the official UCF-Crime test split)")
    add_keyframe_base(parser, "; used only to validate entries")


def run(args: argparse.Namespace) -> int:
    refuse_overwrite(args.out, args.file)
    test_keys = load_test_keys(args.test_list)
    listing = read_json_list_text(args.file)
    result = split_entries(listing.values, test_keys, args.keyframe_base)
    for line in summary_lines(args.file, result, len(test_keys)):
        print(line)
    if args.check:
        if result.removed:
            print(f"  leakage: remove them with `fgvad data split {args.file} --out FILE`")
            return 1
        return 0
    write_text_atomic(args.out, listing.render(result.kept))
    print(f"  wrote {args.out} ({len(result.kept)} entries; removed {len(result.removed)})")
    return 0
