"""``python -m sim.experiments``: the ``rpbsim-experiment`` command."""

import sys

from .cli import main

sys.exit(main())
