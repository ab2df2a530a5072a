"""`fgvad data convert` (argument parsing moves here from fgvad.data.tools.convert)."""

from fgvad.data.tools.convert import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
