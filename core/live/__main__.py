"""``python -m core.live SOURCE ...``: see :mod:`core.live.cli`."""
import sys

from core.live.cli import main

sys.exit(main())
