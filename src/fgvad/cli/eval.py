"""`fgvad eval` (argument parsing moves here from fgvad.eval.cli)."""

from fgvad.eval.cli import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
