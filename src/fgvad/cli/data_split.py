"""`fgvad data split`: remove (or report) the benchmarks' test videos in a training JSON."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_keyframe_base, add_path_map, add_strict, refuse_overwrite
from fgvad.core.datasets import ALL_TEST_LISTS, DATASETS, get_dataset
from fgvad.core.io import write_text_atomic
from fgvad.data.paths import parse_path_map
from fgvad.data.tools.split import (
    describe_test_list,
    load_test_keys,
    read_json_list_text,
    split_entries,
    summary_lines,
)
from fgvad.core.checks import existing_file, output_file

DESCRIPTION = """\
Remove the test videos of every registered dataset (UCF-Crime, MSAD, XD-Violence,
ShanghaiTech) from a training annotation JSON (or only report them); --dataset: of one.

Test membership is by canonical video name (each dataset's rule: for UCF-Crime,
Normal_Videos_924_x264, the official spelling, and Normal_Videos924_x264, common in annotation
files, are the same video), and a Label Studio
URL (/data/local-files/?d=MSAD/.../Fire_2.mp4) names its file. Kept entries are copied byte
for byte. The official test lists ship with fgvad (UCF-Crime 290 videos, MSAD 240,
XD-Violence 800, ShanghaiTech 199); --test-list takes one of them (ucf-crime-test, msad-test,
xd-violence-test, shanghaitech-test) or any other list (one path per
line; the first column of a temporal annotation works). A malformed entry is reported and
carried through unchanged (removed if it names a test video); --strict refuses the file.
"""

EXAMPLES = """\
examples:
  fgvad data split ucf_fgclip_train_with_timestamps_en.json --out train_no_test.json
  fgvad data split ucf_fgclip_train_with_timestamps_en.json --check   # exit 1 on overlap
  fgvad data split train.json --test-list my_test_videos.txt --out train_clean.json
  fgvad data split xd_train.json --dataset xd-violence --check
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="training annotation JSON (a list of entries)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--out", type=output_file(), help="write the file without test videos here")
    mode.add_argument("--check", action="store_true",
                      help="only report; exit status 1 when the file contains test videos")
    parser.add_argument("--dataset", choices=sorted(DATASETS),
                        help="one benchmark: its official test list and video-name rule (default: every dataset's)")
    parser.add_argument("--test-list", metavar="FILE|NAME-test|all",
                        help="test videos, one path per line, or a shipped list: ucf-crime-test, msad-test, ... "
                             "(default: the --dataset's list, else all = every shipped list)")
    add_keyframe_base(parser, "; used only to validate entries")
    add_strict(parser, "report malformed entries and carry them through unchanged")
    add_path_map(parser)


def run(args: argparse.Namespace) -> int:
    refuse_overwrite(args.out, args.file)
    key = get_dataset(args.dataset).video_key if args.dataset else None
    test_list = args.test_list or (f"{args.dataset}-test" if args.dataset else ALL_TEST_LISTS)
    test_keys = load_test_keys(test_list, key)
    listing = read_json_list_text(args.file)
    result = split_entries(listing.values, test_keys, args.keyframe_base, strict=args.strict,
                           path_map=parse_path_map(args.path_map), key=key)
    for line in summary_lines(args.file, result, describe_test_list(test_list, test_keys)):
        print(line)
    if args.check:
        if result.removed:
            print(f"  leakage: remove them with `fgvad data split {args.file} --out FILE`")
            return 1
        return 0
    write_text_atomic(args.out, listing.render(result.kept))
    print(f"  wrote {args.out} ({len(result.kept)} entries; removed {len(result.removed)})")
    return 0
