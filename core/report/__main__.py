"""``python -m core.report``: see :mod:`core.report`."""
import sys

from core.report import main

sys.exit(main())
