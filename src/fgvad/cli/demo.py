"""`fgvad demo` (argument parsing moves here from fgvad.demo)."""

from fgvad.demo import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
