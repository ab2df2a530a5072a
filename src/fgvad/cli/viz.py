"""`fgvad viz` (argument parsing moves here from fgvad.viz.report)."""

from fgvad.viz.report import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
