"""`fgvad data translate` (argument parsing moves here from fgvad.data.tools.translate)."""

from fgvad.data.tools.translate import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
