"""How far to trust a prediction: calibration (:mod:`core.trust.calibration`) and unfamiliar clips
(:mod:`core.trust.ood`).

Import the modules directly (``from core.trust.calibration import Calibration``): this package
imports nothing itself, because :mod:`core.models` reads calibration files while
:mod:`core.trust.ood` fits with :mod:`core.inference`, which imports :mod:`core.models`.

``python -m core.trust fit (--model SPEC | --shipped) --data DIR`` fits out-of-distribution
detectors and writes ``ood.npz`` beside each model (:mod:`core.trust.__main__`).
"""
