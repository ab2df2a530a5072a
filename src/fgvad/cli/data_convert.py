"""`fgvad data convert`: the per-video normal-caption schema -> training entries."""

from __future__ import annotations

import argparse

from fgvad.cli.data_options import add_strict, refuse_overwrite
from fgvad.data.tools.convert import convert_file, summary_lines, write_training_json
from fgvad.core.checks import existing_file, existing_folder, output_file

DESCRIPTION = """\
Convert the per-video normal-caption schema
  {video: {clip: {"timestamps": [[s, e]], "global": {"Caption": ...}, "region": [{"caption": ...}]}}}
(including top-level stray clips) into training entries
  {"video", "global_caption", "region_captions", "box_infos": [[]] per region, "timestamps": [s, e]}.

Clips with placeholder [[0.0, 0.0]], reversed, negative or (with --video-root) out-of-range
timestamps are reported and dropped, or with --bad-timestamps whole-video kept as the whole
video. Clips filed under another video's key are reported. Video paths use the official
UCF-Crime folder and spelling (Training_/Testing_Normal_Videos_Anomaly) and --video-prefix.
"""

EXAMPLES = """\
examples:
  fgvad data convert ucf_normal_videos_1_240_finally.json --out normal_train.json \\
      --video-prefix UCF_Crimes_Videos/UCF_Crimes/Videos/
  fgvad data convert normals.json --out normals_train.json --video-root /data/UCF_Crimes \\
      --bad-timestamps whole-video
then: fgvad data split normal_train.json --out ...   (removes the test normals)
      fgvad data translate normal_train.json --out ... --model opus-mt-zh-en/
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=existing_file(), help="normal-caption JSON ({video: {clip: {timestamps, global, region}}})")
    parser.add_argument("--out", required=True, type=output_file(), help="training JSON to write (a list of entries)")
    parser.add_argument("--video-prefix", default="",
                        help="prepended to every video path, e.g. UCF_Crimes_Videos/UCF_Crimes/Videos/ (default: none)")
    parser.add_argument("--video-folder", default=None,
                        help="put every video in this folder instead of Training_/Testing_Normal_Videos_Anomaly "
                             "chosen by the official UCF-Crime lists")
    parser.add_argument("--video-root", default=None, type=existing_folder,
                        help="folder with the videos; clips beyond a video's duration are then reported too")
    parser.add_argument("--bad-timestamps", choices=("drop", "whole-video"), default="drop",
                        help="placeholder/reversed/out-of-range clips: drop them (default) or keep them "
                             "as the whole video (timestamps null)")
    parser.add_argument("--misfiled", choices=("key", "name", "drop"), default="key",
                        help="clips whose name says another video than the key they sit under: keep them under "
                             "the key (default; in the real file their timestamps continue the key's clips), "
                             "refile by name, or drop")
    add_strict(parser, "report malformed clips and leave them out")



def run(args: argparse.Namespace) -> int:
    refuse_overwrite(args.out, args.file)
    entries, report = convert_file(args.file, video_prefix=args.video_prefix, video_folder=args.video_folder,
                                   video_root=args.video_root, bad_timestamps=args.bad_timestamps,
                                   misfiled=args.misfiled, strict=args.strict)
    for line in summary_lines(args.file, report, args.misfiled):
        print(line)
    write_training_json(args.out, entries)
    print(f"  wrote {args.out} ({len(entries)} entries)")
    return 0
