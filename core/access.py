"""Which folders a served dashboard may read: the rules, as pure functions (no Streamlit).

When avlab is served to a team, the sidebar's "Data source" and the model picker must not become a way
to read any file the server can see. The rules:

- A path is *within* a set of roots when its real path (every symlink and ``..`` resolved, as
  :func:`os.path.realpath` does) is one of the roots' real paths or lies below one, compared by whole
  path components: ``/data/root2`` is not within ``/data/root``, and ``/data/root/link`` pointing to
  ``/etc`` is not within ``/data/root``.
- Data roots: the folders in ``AVLAB_DATA_ROOTS`` (``os.pathsep``-separated); unset or empty, the sample
  data and the results folder (:data:`DEFAULT_DATA_ROOTS`).
- Model roots: the shipped checkpoints and the folders in ``AVLAB_MODELS``. A ``python`` model is code,
  so its sidecar, model file and entry file must lie within them wherever the dashboard runs; in
  restricted mode every model's files must.
- Restricted mode (:func:`restricted`): the server listens on anything other than a loopback address
  (Streamlit's ``server.address`` unset means every interface, so it counts as not loopback), or
  ``AVLAB_RESTRICT`` is ``1`` / ``true`` / ``yes`` (set it when a reverse proxy on the same machine
  forwards a team to a Streamlit bound to 127.0.0.1: the server cannot tell those requests apart).

A refusal is one sentence that names the allowed roots, never the refused path or anything in it.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path
from typing import Iterable, Mapping

REPO = Path(__file__).resolve().parent.parent
DATA_ROOTS_ENV = "AVLAB_DATA_ROOTS"
MODELS_ENV = "AVLAB_MODELS"
RESTRICT_ENV = "AVLAB_RESTRICT"
DEFAULT_DATA_ROOTS = (REPO / "sample_data", REPO / "results")
SHIPPED_MODELS = REPO / "checkpoints"
_TRUE = {"1", "true", "yes", "on"}


def real(path: str | os.PathLike) -> Path:
    """``path`` with ``~`` expanded, made absolute, every symlink and ``..`` resolved (it need not exist)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def within(path: str | os.PathLike, roots: Iterable[str | os.PathLike]) -> bool:
    """Whether ``path`` is one of ``roots`` or lies below one, after resolving symlinks and ``..`` on both sides.

    Compared by whole path components, so ``/data/root2`` is not within ``/data/root``. A path is not within
    an empty set of roots.
    """
    target = real(path)
    return any(target == root or target.is_relative_to(root) for root in map(real, roots))


def roots_from(value: str | None, default: Iterable[Path] = ()) -> tuple[Path, ...]:
    """The folders of an ``os.pathsep``-separated variable (blank entries dropped; ``~`` expanded); ``default``
    when it names none."""
    named = tuple(Path(p.strip()).expanduser() for p in (value or "").split(os.pathsep) if p.strip())
    return named or tuple(default)


def data_roots(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """``AVLAB_DATA_ROOTS``, or the sample data and the results folder."""
    env = os.environ if env is None else env
    return roots_from(env.get(DATA_ROOTS_ENV), DEFAULT_DATA_ROOTS)


def model_roots(env: Mapping[str, str] | None = None, shipped: Path = SHIPPED_MODELS) -> tuple[Path, ...]:
    """The shipped checkpoints' folder and the folders in ``AVLAB_MODELS``."""
    env = os.environ if env is None else env
    return (shipped, *roots_from(env.get(MODELS_ENV)))


def is_loopback(address: str | None) -> bool:
    """Whether a server bound to ``address`` can only be reached from this machine: ``127.0.0.0/8``, ``::1``
    or ``localhost``. Unset or empty (Streamlit then listens on every interface), ``0.0.0.0``, ``::``, any
    other address or a host name: False."""
    text = (address or "").strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def restricted(address: str | None, env: Mapping[str, str] | None = None) -> bool:
    """Whether the data source and models are limited to their roots: the server listens on anything but a
    loopback address (:func:`is_loopback`), or ``AVLAB_RESTRICT`` is set to 1 / true / yes / on."""
    env = os.environ if env is None else env
    return not is_loopback(address) or str(env.get(RESTRICT_ENV, "")).strip().lower() in _TRUE


def refusal(roots: Iterable[str | os.PathLike], *, what: str = "data", variable: str = DATA_ROOTS_ENV) -> str:
    """The one sentence for a path outside ``roots``: it names the allowed folders and the variable that sets
    them, never the refused path (nor anything in it)."""
    names = ", ".join(str(r) for r in roots) or "none"
    return (f"This server reads {what} only from its allowed folders ({names}); name a folder inside one of "
            f"them, or ask whoever runs the server to add yours to {variable}.")


def keep_within(dataset, roots: Iterable[str | os.PathLike]):
    """A :class:`core.datasets.Dataset` without the clips (and the unreadable entries) whose files lie outside
    ``roots``: an index file inside a root may name, or a symlink point to, files anywhere."""
    roots = tuple(real(r) for r in roots)

    def inside(source) -> bool:
        files = getattr(source, "files", None) or (source,)
        return all(within(f, roots) for f in files)

    return dataclasses.replace(dataset, samples=tuple(s for s in dataset.samples if inside(s.source)),
                               skipped=tuple(u for u in dataset.skipped if inside(u.path)))


def model_files(spec: str | os.PathLike) -> tuple[str, tuple[Path, ...]]:
    """A model's format and the files loading it reads or runs: an avlab checkpoint folder's files; else the
    sidecar, the model file (or folder) it names and, for ``python``, the entry file it runs.

    Raises ``core.models.ModelError`` for a model whose sidecar cannot be read.
    """
    from core.models.loaders import is_checkpoint
    from core.models.sidecar import find_sidecar, parse_sidecar

    path = Path(spec)
    if is_checkpoint(path):
        return "avlab", (path, *sorted(p for p in path.iterdir() if p.is_file()))
    sidecar_path = find_sidecar(path)
    if sidecar_path is None:
        return "unknown", (path,)
    car = parse_sidecar(sidecar_path, None if sidecar_path == path or path.is_dir() else path)
    files = [path, sidecar_path, car.model_path]
    entry = car.raw.get("entry")
    if car.format == "python" and isinstance(entry, str):
        files.append(sidecar_path.parent / entry.partition(":")[0])
    return car.format, tuple(files)


def model_refusal(spec: str | os.PathLike, roots: Iterable[str | os.PathLike], *, restricted: bool) -> str | None:
    """None when the model at ``spec`` may be loaded, else one sentence saying why not (naming the model's
    folder, never a file outside ``roots``): a ``python`` model (code) whose files do not all lie within
    ``roots``, or in restricted mode any such model."""
    roots = tuple(roots)
    fmt, files = model_files(spec)
    if (fmt == "python" or restricted) and not all(within(f, roots) for f in files):
        kind = "its code" if fmt == "python" else "its files"
        return (f"The model {Path(spec).name} is not offered: {kind} would be read from outside the folders "
                f"models may be loaded from (the shipped checkpoints and {MODELS_ENV}).")
    return None


__all__ = ["DATA_ROOTS_ENV", "DEFAULT_DATA_ROOTS", "MODELS_ENV", "REPO", "RESTRICT_ENV", "SHIPPED_MODELS",
           "data_roots", "is_loopback", "keep_within", "model_files", "model_refusal", "model_roots", "real",
           "refusal", "restricted", "roots_from", "within"]
