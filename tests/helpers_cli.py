"""Running fgvad commands from tests in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from typing import Sequence

HEAVY_MODULES = ("torch", "transformers", "fgvad.models")


def help_without_heavy_imports(commands: Sequence[Sequence[str]], then: str = "") -> str:
    """Print each command's ``--help`` in a new Python process, run ``then`` there, and assert that
    none of :data:`HEAVY_MODULES` was imported (``--help`` must stay fast); returns the help text."""
    code = ("import sys\n"
            "from fgvad.cli import main\n"
            f"for words in {[list(c) for c in commands]!r}:\n"
            "    try:\n"
            "        main(words + ['--help'])\n"
            "    except SystemExit:\n"
            "        pass\n"
            f"{then}"
            f"bad = [m for m in {HEAVY_MODULES!r} if m in sys.modules]\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout
