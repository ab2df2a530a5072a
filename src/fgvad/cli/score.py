"""`fgvad score` (argument parsing moves here from fgvad.eval.score)."""

from fgvad.eval.score import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
