"""`fgvad data cache` (argument parsing moves here from fgvad.data.cache)."""

from fgvad.data.cache import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
