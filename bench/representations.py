"""Time every representation on 5 s of 16 kHz audio: first call (cold) and warm medians.

Usage (from the repository root)::

    OMP_NUM_THREADS=1 python bench/representations.py [--runs 9]

For each representation it prints

* cold, in a fresh subprocess per representation, stage by stage: importing
  ``core.representations``; the numba warm-up (importing ``librosa.util.utils``,
  whose ``@guvectorize`` ufuncs numba compiles or loads from its cache); the
  other librosa lazy imports; then the first ``compute`` (filterbanks, any
  lazily ``@jit``-compiled function, counted);
* the median of ``--runs`` warm calls of ``compute``, ``to_image`` (224x224)
  and ``to_tensor_input``;
* ratios of the warm ``compute`` median to a baseline measured in the same run:
  ``np.abs(librosa.stft(y))`` with librosa's defaults (n_fft=2048, hop 512).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SR = 16_000
SECONDS = 5.0
GOAL_MS = 50.0


def signal():
    """5 s of a rising chirp over noise, the same every run."""
    import numpy as np

    t = np.arange(int(SECONDS * SR)) / SR
    chirp = np.sin(2 * np.pi * (200 * t + (4000 - 200) / (2 * SECONDS) * t**2))
    noise = np.random.default_rng(0).standard_normal(t.size)
    return (0.5 * chirp + 0.05 * noise).astype(np.float32)


def _jit_signatures() -> int:
    """Number of numba-compiled signatures of ``@jit`` functions alive in this process."""
    import gc

    total = 0
    for obj in gc.get_objects():
        try:
            if type(obj).__name__ == "CPUDispatcher":
                total += len(obj.signatures)
        except ReferenceError:
            pass
    return total


def cold(name: str) -> dict:
    """In this (fresh) process, one stage at a time, the cost of the first call of ``name``.

    ``numba_ms`` is the import of ``librosa.util.utils``, whose ``@guvectorize``
    ufuncs numba compiles (or loads from its on-disk cache) at import time;
    ``lazy_imports_ms`` the rest of the librosa submodules a first call pulls
    in; ``first_compute_ms`` what is left (filterbanks, lazily ``@jit``-compiled
    functions, counted in ``jit_compiled``).
    """
    import importlib

    t0 = time.perf_counter()
    import core.representations as rep

    t1 = time.perf_counter()
    importlib.import_module("librosa.util.utils")
    t2 = time.perf_counter()
    for module in ("librosa.core.convert", "librosa.core.spectrum", "librosa.core.constantq",
                   "librosa.core.audio", "librosa.filters", "librosa.feature.spectral"):
        importlib.import_module(module)
    t3 = time.perf_counter()
    y = signal()
    jit_before = _jit_signatures()
    t4 = time.perf_counter()
    rep.compute(name, y, SR)
    t5 = time.perf_counter()
    jit_after = _jit_signatures()
    rep.to_image(name, y, SR)
    t6 = time.perf_counter()
    return {"import_ms": (t1 - t0) * 1e3, "numba_ms": (t2 - t1) * 1e3, "lazy_imports_ms": (t3 - t2) * 1e3,
            "first_compute_ms": (t5 - t4) * 1e3, "first_image_ms": (t6 - t5) * 1e3,
            "jit_compiled": jit_after - jit_before}


def median_ms(fn, runs: int) -> float:
    import numpy as np

    fn()
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1e3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="warm runs per median (>= 7)")
    parser.add_argument("--cold", help=argparse.SUPPRESS)  # internal: one fresh-process measurement
    args = parser.parse_args()
    if args.cold:
        print(json.dumps(cold(args.cold)))
        return

    import librosa
    import numpy as np

    import core.representations as rep

    runs = max(args.runs, 7)
    y = signal()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    baseline = median_ms(lambda: np.abs(librosa.stft(y)), runs)
    librosa_mel = median_ms(lambda: librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=SR, n_fft=1280, hop_length=224, n_mels=128), ref=np.max), runs)

    print(f"5 s at {SR} Hz, median of {runs} warm runs; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"baseline np.abs(librosa.stft(y)) [n_fft 2048, hop 512]: {baseline:.2f} ms")
    print(f"reference librosa melspectrogram + power_to_db [1280/224, 128 mels]: {librosa_mel:.2f} ms\n")
    header = ("| representation | shape | first compute, cold (ms) | numba JIT'd | compute (ms) | x stft "
              "| to_image (ms) | to_tensor_input (ms) | < 50 ms |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    colds = {}
    for name in rep.names():
        out = subprocess.run([sys.executable, __file__, "--cold", name], capture_output=True, text=True,
                             env=env, check=True, cwd=ROOT)
        c = json.loads(out.stdout.strip().splitlines()[-1])
        shape = rep.compute(name, y, SR).values.shape
        t_compute = median_ms(lambda: rep.compute(name, y, SR), runs)
        t_image = median_ms(lambda: rep.to_image(name, y, SR), runs)
        t_tensor = median_ms(lambda: rep.to_tensor_input(name, y, SR), runs)
        ok = "yes" if max(t_compute, t_image) < GOAL_MS else "NO"
        colds[name] = c
        print(f"| {name} | {shape[0]}x{shape[1]} | {c['first_compute_ms']:.1f} | {c['jit_compiled']} "
              f"| {t_compute:.2f} | {t_compute / baseline:.2f} | {t_image:.2f} | {t_tensor:.2f} | {ok} |")
    med = {k: float(np.median([c[k] for c in colds.values()])) for k in ("import_ms", "numba_ms", "lazy_imports_ms")}
    print(f"\nfresh process, once per process (median over the {len(colds)} subprocesses): "
          f"import core.representations {med['import_ms']:.0f} ms; numba warm-up (librosa.util.utils "
          f"@guvectorize ufuncs, compiled or loaded from numba's cache) {med['numba_ms']:.0f} ms; "
          f"other librosa lazy imports {med['lazy_imports_ms']:.0f} ms")


if __name__ == "__main__":
    main()
