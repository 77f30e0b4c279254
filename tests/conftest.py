"""Shared test configuration: keep torch to the machine's two cores and tests deterministic."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
