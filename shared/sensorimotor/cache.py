"""On-disk cache of generated data and trained weights, keyed by the config that made them.

The root is ``$SENSORIMOTOR_CACHE`` if set, else ``$XDG_CACHE_HOME/sensorimotor`` (default
``~/.cache/sensorimotor``). Every write goes to a temporary file in the same folder and is renamed into
place, so an interrupted run never leaves a half-written entry.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sensorimotor.profiles import config_hash

CACHE_ENV = "SENSORIMOTOR_CACHE"


class CacheError(RuntimeError):
    """A cache entry exists but cannot be read."""


def cache_root() -> Path:
    """The cache folder (created if missing)."""
    if os.environ.get(CACHE_ENV):
        root = Path(os.environ[CACHE_ENV]).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        root = base / "sensorimotor"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_path(namespace: str, key: Mapping[str, Any], suffix: str) -> Path:
    """Path of the entry for ``key`` (a dict of the knobs that determine it) under ``namespace``."""
    if not namespace or "/" in namespace or namespace.startswith("."):
        raise ValueError(f"bad cache namespace {namespace!r}: use a plain folder name")
    folder = cache_root() / namespace
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{config_hash(dict(key))}{suffix}"


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, else delete it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_current_umask())  # mkstemp makes 0600 files; use the usual mode
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write arrays to an ``.npz`` file atomically (uncompressed: fast to load)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})
    return Path(path)


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Read an ``.npz`` written by :func:`save_arrays`; a corrupt file raises :class:`CacheError`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except Exception as error:  # zipfile.BadZipFile, ValueError, OSError ...
        raise CacheError(f"cache entry {path} is unreadable ({error}); delete it and run again") from error


def save_torch(path: str | Path, obj: Any) -> Path:
    """``torch.save`` atomically (state dicts and plain containers of tensors)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(..., weights_only=True)``; a corrupt file raises :class:`CacheError`."""
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CacheError(f"checkpoint {path} is unreadable ({error}); delete it and run again") from error


def cached_arrays(
    namespace: str, key: Mapping[str, Any], make: Callable[[], Mapping[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Load the arrays cached under ``key``, or ``make()`` them and cache them."""
    path = cache_path(namespace, key, ".npz")
    if path.exists():
        return load_arrays(path)
    arrays = {k: np.asarray(v) for k, v in make().items()}
    save_arrays(path, arrays)
    return arrays
