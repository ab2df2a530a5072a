"""`fgvad data check` (argument parsing moves here from fgvad.data.validate)."""

from fgvad.data.validate import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
