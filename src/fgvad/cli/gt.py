"""`fgvad gt` (argument parsing moves here from fgvad.eval.gt)."""

from fgvad.eval.gt import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
