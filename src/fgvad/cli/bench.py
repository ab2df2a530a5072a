"""`fgvad bench` (argument parsing moves here from fgvad.bench)."""

from fgvad.bench import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
