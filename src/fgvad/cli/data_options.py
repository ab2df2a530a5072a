"""Options and checks that several `fgvad data` commands share, spelled and worded once."""

from __future__ import annotations

import argparse
from pathlib import Path

from fgvad.core.checks import non_negative_int
from fgvad.core.errors import UsageError
from fgvad.core.io import check_output_path
from fgvad.data.annotations import KEYFRAME_BASE_DEFAULT


def add_keyframe_base(parser: argparse.ArgumentParser, note: str = "") -> None:
    """``--keyframe-base {0,1}``: the number of the first frame in the file's ``box_infos``."""
    parser.add_argument("--keyframe-base", type=non_negative_int, choices=(0, 1), default=KEYFRAME_BASE_DEFAULT,
                        help="first frame number used by the annotation's keyframes (default 1, as Label Studio "
                             "writes; see docs/data.md 'Keyframe numbering')" + note)


def refuse_overwrite(out: str | Path | None, src: str | Path) -> None:
    """``--out FILE`` must be writable, and writing it over the input would lose the user's original file."""
    if out and Path(out).resolve() == Path(src).resolve():
        raise UsageError(f"--out {out}: refusing to overwrite the input; choose another file")
    if out:
        check_output_path(out, flag="--out")


def add_strict(parser: argparse.ArgumentParser, what: str) -> None:
    """``--strict``: the first malformed entry refuses the whole file (the default keeps going)."""
    parser.add_argument("--strict", action="store_true",
                        help=f"refuse the whole file at its first malformed entry (default: {what})")


def add_path_map(parser: argparse.ArgumentParser) -> None:
    """``--path-map OLD=NEW``, repeatable; Label Studio ``/data/local-files/?d=`` URLs need none."""
    parser.add_argument("--path-map", action="append", metavar="OLD=NEW", default=None,
                        help="rewrite video paths starting with OLD to start with NEW (relative to --video-root; "
                             "repeatable). Label Studio /data/local-files/?d=REL paths resolve to REL without it; "
                             "see docs/data.md 'Video paths'")
