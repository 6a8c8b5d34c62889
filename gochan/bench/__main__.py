"""``python -m gochan.bench``: see ``--help``."""

import sys

from ._cli import main

sys.exit(main())
