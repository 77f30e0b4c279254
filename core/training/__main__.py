"""``python -m core.training --config FILE``."""
import sys

from core.training.run import main

sys.exit(main())
