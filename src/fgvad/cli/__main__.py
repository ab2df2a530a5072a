"""``python -m fgvad.cli ...`` (what torchrun and the tests start)."""

import sys

from fgvad.cli import main

sys.exit(main())
