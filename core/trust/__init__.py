"""How far to trust a prediction: calibration (:mod:`core.trust.calibration`) and unfamiliar clips
(:mod:`core.trust.ood`).

Import the modules directly (``from core.trust.calibration import Calibration``): this package
imports nothing itself, because :mod:`core.models` reads calibration files while
:mod:`core.trust.ood` fits with :mod:`core.inference`, which imports :mod:`core.models`.
"""
