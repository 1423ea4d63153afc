"""``python -m flockchain`` runs the ``flockchain`` command."""

import sys

from flockchain.cli import main

sys.exit(main())
