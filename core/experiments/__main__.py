"""``python -m core.experiments ...``: see :func:`core.experiments.cli.main`."""
import sys

from core.experiments.cli import main

sys.exit(main())
