"""`fgvad data split` (argument parsing moves here from fgvad.data.tools.split)."""

from fgvad.data.tools.split import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
