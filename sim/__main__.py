"""``python -m sim`` is the ``mutualaid`` command."""

import sys

from sim.cli import main

sys.exit(main())
