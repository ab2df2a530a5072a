"""One rule for flag spelling: fgvad's own flags are kebab-case (``--num-frames``).

Older spellings with underscores keep working: each is rewritten to the kebab-case flag
with a one-line note on stderr, so scripts written for an earlier fgvad still run and
their authors learn the new name. (``fgvad train`` also accepts HF ``TrainingArguments``
names as they are, e.g. ``--per_device_train_batch_size``; see its ``--help``.)
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

SPELLING_RULE = ("flags are kebab-case (--num-frames); the older --num_frames spelling still works "
                 "and prints a note")


def normalise_flag_spelling(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """``--old_name[=v]`` -> ``--old-name[=v]`` when only the kebab-case flag exists, noting each once."""
    known = set(parser._option_string_actions)  # argparse has no public list of option strings
    out: list[str] = []
    noted: set[str] = set()
    for token in argv:
        if token == "--":
            out.extend(argv[len(out):])
            break
        flag, eq, value = token.partition("=")
        if flag.startswith("--") and "_" in flag and flag not in known:
            kebab = "--" + flag[2:].replace("_", "-")
            if kebab in known:
                if flag not in noted:
                    print(f"fgvad: note: {flag} is spelled {kebab} now", file=sys.stderr)
                    noted.add(flag)
                token = kebab + eq + value
        out.append(token)
    return out
