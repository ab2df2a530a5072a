"""`fgvad data synth` (argument parsing moves here from fgvad.data.tools.synth)."""

from fgvad.data.tools.synth import DESCRIPTION, EXAMPLES, add_arguments, run  # noqa: F401
