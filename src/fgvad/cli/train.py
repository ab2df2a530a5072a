"""`fgvad train` (argument parsing moves here from fgvad.train.cli)."""

from fgvad.train.cli import DESCRIPTION, EXAMPLES, main  # noqa: F401
