"""Export the trained example model to every format avlab loads, each with its sidecar, and check them.

    python examples/custom_model/export.py            # runs/example/model_state.pt -> runs/example/export/

Writes into the output folder::

    model_ts.pt       + model_ts.avlab.json        TorchScript (torch.jit.trace)
    model_export.pt2  + model_export.avlab.json    torch.export (torch.export.save)
    model.onnx        + model.avlab.json           ONNX (inputs "video" and "audio", dynamic batch)
    python/           avlab.json, wrapper.py, model.py, model_state.pt   (the "python" entry)

Each file is first checked without avlab against the eager model on the same random
batch (maximum absolute difference of the logits printed), then through avlab:
``core.models.load_model(path)`` and a prediction of a sample clip.

The export functions (``export_torchscript``, ``export_torch_export``, ``export_onnx``,
``export_python``, ``export_all``) take a model and an output folder and need nothing from
avlab; only ``check_with_avlab`` imports it.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
from model import build_model  # noqa: E402  (this folder's model.py)

HEADS = ("audio", "video", "fused")
OUTPUT_NAMES = ["audio_logits", "video_logits", "fused_logits"]
SAMPLE_CLIP = REPO / "sample_data" / "test" / "fan_fault_2000001.mp4"


# ----------------------------------------------------------------------------- loading and sidecars

def load_trained(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """The eval-mode model saved by train.py, and its ``meta`` (classes, video, audio)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(**state["config"])
    model.load_state_dict(state["state_dict"])
    meta = {k: state[k] for k in ("classes", "video", "audio")}
    return model.eval(), meta


def sidecar(fmt: str, meta: dict, **extra) -> dict:
    """The sidecar of a model in format ``fmt``: classes in logit order, inputs, three outputs."""
    return {"format": fmt, "name": f"custom r3d+mel ({fmt})", "classes": list(meta["classes"]),
            "video": dict(meta["video"]), "audio": dict(meta["audio"]), "outputs": list(HEADS), **extra}


def write_json(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def example_inputs(meta: dict, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A random batch shaped as the sidecar says: video (B, 3, T, S, S), audio (B, seconds * rate)."""
    g = torch.Generator().manual_seed(seed)
    v, a = meta["video"], meta["audio"]
    video = torch.randn(batch, 3, v["frames"], v["size"], v["size"], generator=g)
    audio = 0.1 * torch.randn(batch, int(a["seconds"] * a["sample_rate"]), generator=g)
    return video, audio


# ----------------------------------------------------------------------------- the four exports

def export_torchscript(model: torch.nn.Module, out: Path, meta: dict, stem: str = "model_ts") -> Path:
    """``stem.pt`` by ``torch.jit.trace`` and ``stem.avlab.json``; returns the model file."""
    out.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # torch.jit.trace is deprecated in favour of torch.export, yet still works
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(model.eval(), example_inputs(meta))
    traced.save(str(out / f"{stem}.pt"))
    write_json(out / f"{stem}.avlab.json", sidecar("torchscript", meta))
    return out / f"{stem}.pt"


def export_torch_export(model: torch.nn.Module, out: Path, meta: dict, stem: str = "model_export") -> Path:
    """``stem.pt2`` by ``torch.export`` (batch dimension dynamic) and ``stem.avlab.json``."""
    out.mkdir(parents=True, exist_ok=True)
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(model.eval(), example_inputs(meta),
                                  dynamic_shapes={"video": {0: batch}, "audio": {0: batch}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "No complete tensor found in the group": harmless here
        torch.export.save(program, str(out / f"{stem}.pt2"))
    write_json(out / f"{stem}.avlab.json", sidecar("torch-export", meta))
    return out / f"{stem}.pt2"


def export_onnx(model: torch.nn.Module, out: Path, meta: dict, stem: str = "model",
                input_names: tuple[str, str] = ("video", "audio")) -> Path:
    """``stem.onnx`` (one file, weights inside; batch dimension dynamic) and ``stem.avlab.json``.

    avlab feeds inputs named ``video`` and ``audio``; ``input_names`` exists to show what happens otherwise.
    """
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model.eval(), example_inputs(meta), str(path), input_names=list(input_names),
                          output_names=OUTPUT_NAMES, external_data=False, verbose=False,
                          dynamic_shapes={"video": {0: "batch"}, "audio": {0: "batch"}})
    write_json(out / f"{stem}.avlab.json", sidecar("onnx", meta))
    return path


def export_python(model: torch.nn.Module, out: Path, meta: dict, folder: str = "python") -> Path:
    """A folder avlab imports: ``avlab.json`` (entry ``wrapper.py:build``), wrapper.py, model.py, the weights."""
    target = out / folder
    target.mkdir(parents=True, exist_ok=True)
    for name in ("wrapper.py", "model.py"):
        shutil.copyfile(HERE / name, target / name)
    torch.save({"config": dict(model.config), "state_dict": model.state_dict()}, target / "model_state.pt")
    write_json(target / "avlab.json", sidecar("python", meta, entry="wrapper.py:build", weights="model_state.pt"))
    return target


def export_all(model: torch.nn.Module, out: Path, meta: dict) -> dict[str, Path]:
    """Every format: format -> the path to give ``load_model``; prints how long each took."""
    exporters = {"torchscript": export_torchscript, "torch-export": export_torch_export,
                 "onnx": export_onnx, "python": export_python}
    paths = {}
    for fmt, export in exporters.items():
        start = time.perf_counter()
        paths[fmt] = export(model, Path(out), meta)
        print(f"{fmt:13s} {paths[fmt]}  ({time.perf_counter() - start:.1f} s)", flush=True)
    return paths


# ----------------------------------------------------------------------------- checks

def reload(fmt: str, path: Path):
    """The exported model as a callable ``fn(video, audio)``, loaded without avlab."""
    if fmt == "torchscript":
        return torch.jit.load(str(path))
    if fmt == "torch-export":
        return torch.export.load(str(path)).module()
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return lambda v, a: tuple(torch.from_numpy(o)
                                  for o in session.run(None, {"video": v.numpy(), "audio": a.numpy()}))
    if fmt == "python":
        import importlib.util

        spec = importlib.util.spec_from_file_location("custom_model_example_wrapper", path / "wrapper.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.build(json.loads((path / "avlab.json").read_text()))
    raise ValueError(fmt)


def max_abs_diff(outs_a, outs_b) -> float:
    return max(float((torch.as_tensor(x) - torch.as_tensor(y)).abs().max()) for x, y in zip(outs_a, outs_b))


@torch.no_grad()
def check_exports(model: torch.nn.Module, paths: dict[str, Path], meta: dict, batch: int = 3) -> dict[str, float]:
    """Max abs difference of each export's logits from the eager model's, on a batch size not traced with."""
    video, audio = example_inputs(meta, batch=batch, seed=1)
    expected = model.eval()(video, audio)
    return {fmt: max_abs_diff(reload(fmt, path)(video, audio), expected) for fmt, path in paths.items()}


@torch.no_grad()
def check_with_avlab(model: torch.nn.Module, paths: dict[str, Path], meta: dict, clip_path: Path = SAMPLE_CLIP) -> None:
    """Load each export with ``core.models.load_model``, compare its three heads with the eager model on the
    sample clip's inputs as avlab prepares them, and predict the clip with ``core.inference.Predictor``."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from train import decode

    from core.inference import Predictor
    from core.media import load_clip
    from core.models import load_model
    from core.models.preprocessing import audio_input, video_input

    clip = load_clip(clip_path)
    first = load_model(paths["torchscript"])
    video = video_input(clip.frames, clip.fps, first.video).unsqueeze(0)  # (1, 3, T, S, S) as avlab prepares it
    audio = audio_input(clip.audio, clip.sr, first.audio).unsqueeze(0)  # (1, N)
    own_video, own_audio = decode(clip_path, meta["video"]["frames"], meta["video"]["size"])
    print(f"inputs: avlab's preprocessing vs train.py's decode, max abs diff video "
          f"{float((video[0] - own_video).abs().max()):.2e}, audio {float((audio[0] - own_audio).abs().max()):.2e}")
    expected = dict(zip(HEADS, model.eval()(video, audio)))
    ones = torch.ones(1)
    for fmt, path in paths.items():
        loaded = load_model(path)
        branches = loaded.encode("audio", audio, ones), loaded.encode("video", video, ones)
        logits = loaded.fuse(*branches, ones, ones).logits
        diff = max(float((logits[h] - expected[h]).abs().max()) for h in HEADS)
        line = (f"{fmt:13s} load_model ok: {loaded.name!r}, native heads {sorted(loaded.native_heads)}; "
                f"fuse vs eager max abs diff {diff:.2e}")
        try:
            pred = Predictor(loaded).predict(clip).overall
            line += "; Predictor: " + ", ".join(f"{h} {pred.top(h)[0]} {pred.top(h)[1]:.0%}" for h in HEADS)
        except Exception as exc:  # noqa: BLE001 - core.inference is being reworked to take any loaded model
            line += f"; Predictor(model) failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"
        print(line, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state", type=Path, default=HERE / "runs" / "example" / "model_state.pt")
    p.add_argument("--out", type=Path, default=HERE / "runs" / "example" / "export")
    p.add_argument("--no-avlab", action="store_true", help="skip the checks through avlab's loaders")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1: fastest on a busy 2-core machine)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    # torch.jit.trace / torch.jit.load warn that torch.jit is deprecated in favour of torch.export; both still work.
    warnings.filterwarnings("ignore", message="`torch.jit", category=FutureWarning)

    model, meta = load_trained(args.state)
    paths = export_all(model, args.out, meta)
    for fmt, diff in check_exports(model, paths, meta).items():
        print(f"{fmt:13s} reloaded without avlab, batch of 3: max abs diff from eager {diff:.2e}", flush=True)
    if not args.no_avlab:
        check_with_avlab(model, paths, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
