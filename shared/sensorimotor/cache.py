"""On-disk cache of generated data and trained weights, keyed by the config and the code that made them.

The root is ``$SENSORIMOTOR_CACHE`` if set, else ``$XDG_CACHE_HOME/sensorimotor`` (default
``~/.cache/sensorimotor``). Every key also holds :func:`sensorimotor.provenance.code_hash` of the library
module that writes the entry and everything it imports, so changed code never reuses old entries.
Every write goes to a temporary file in the same folder and is renamed into place, so an interrupted run
never leaves a half-written entry; temporaries left by a killed process are removed the next time the
folder is used. Loads and saves are logged (:func:`cache_events`) so a report can say what it computed
and what it loaded.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sensorimotor.atomic import atomic_path
from sensorimotor.hashing import config_hash
from sensorimotor.provenance import PACKAGE, code_hash, module_file

CACHE_ENV = "SENSORIMOTOR_CACHE"
STALE_TMP_SECONDS = 24 * 3600  # a temporary older than this is stale even if its process id is reused
_EVENTS: list[dict[str, str]] = []
_CLEANED: set[Path] = set()


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


def _caller_module(skip: int) -> str | None:
    """The first library module on the stack outside this one (None when called from a notebook)."""
    frame = sys._getframe(skip)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != __name__:
            return name if module_file(name) is not None else None
        frame = frame.f_back
    return None


def _producing_code(namespace: str, code: str | Sequence[str] | None) -> list[str]:
    """The library modules that make an entry: as given, else the calling library module."""
    if code is None:
        caller = _caller_module(1)
        if caller is None:
            raise ValueError(
                f"cache entry {namespace!r}: outside the {PACKAGE} library, name the library module(s) that "
                "produce it with code=[...]"
            )
        return [caller]
    return [code] if isinstance(code, str) else list(code)


def cache_path(
    namespace: str, key: Mapping[str, Any], suffix: str, *, code: str | Sequence[str] | None = None
) -> Path:
    """Path of the entry for ``key`` (a dict of the knobs that determine it) under ``namespace``.

    ``code`` names the library module(s) whose code makes the entry; by default the calling library
    module. Their source and everything they import go into the key. A caller outside the library (a
    notebook, a test) must name them.
    """
    if not namespace or "/" in namespace or namespace.startswith("."):
        raise ValueError(f"bad cache namespace {namespace!r}: use a plain folder name")
    code = _producing_code(namespace, code)
    folder = cache_root() / namespace
    folder.mkdir(parents=True, exist_ok=True)
    clean_stale_temporaries(folder)
    return folder / f"{config_hash({**dict(key), '_code': code_hash(code)})}{suffix}"


def _log(event: str, path: Path) -> None:
    try:
        where = str(path.resolve().relative_to(cache_root().resolve()))
    except ValueError:
        where = path.name
    _EVENTS.append({"entry": where, "event": event})


def cache_events() -> list[dict[str, str]]:
    """Every cache entry this process loaded or computed, in order: ``{"entry", "event"}``."""
    return [dict(e) for e in _EVENTS]


def _tmp_owner(path: Path) -> int | None:
    parts = path.name.split(".")
    try:
        return int(parts[-2])
    except (IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temporaries(folder: Path, force: bool = False) -> list[Path]:
    """Delete ``.*.tmp`` files in ``folder`` whose writing process has died (or that are a day old)."""
    folder = Path(folder)
    if folder in _CLEANED and not force:
        return []
    _CLEANED.add(folder)
    removed = []
    now = time.time()
    for tmp in folder.glob(".*.tmp"):
        owner = _tmp_owner(tmp)
        try:
            old = now - tmp.stat().st_mtime > STALE_TMP_SECONDS
        except FileNotFoundError:
            continue
        if old or owner is None or (owner != os.getpid() and not _alive(owner)):
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
                removed.append(tmp)
    return removed


def save_arrays(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write arrays to an ``.npz`` file atomically (uncompressed: fast to load)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **{k: np.asarray(v) for k, v in arrays.items()})
    _log("computed", Path(path))
    return Path(path)


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    """Read an ``.npz`` written by :func:`save_arrays`; a corrupt file raises :class:`CacheError`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        _log("loaded", path)
        return arrays
    except FileNotFoundError:
        raise
    except Exception as error:  # zipfile.BadZipFile, ValueError, OSError ...
        raise CacheError(f"cache entry {path} is unreadable ({error}); delete it and run again") from error


def save_torch(path: str | Path, obj: Any) -> Path:
    """``torch.save`` atomically (state dicts and plain containers of tensors)."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    _log("computed", Path(path))
    return Path(path)


def load_torch(path: str | Path, map_location: Any = "cpu") -> Any:
    """``torch.load(..., weights_only=True)``; a corrupt file raises :class:`CacheError`."""
    import torch

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:
        raise CacheError(f"checkpoint {path} is unreadable ({error}); delete it and run again") from error
    _log("loaded", path)
    return obj


def cached_arrays(
    namespace: str,
    key: Mapping[str, Any],
    make: Callable[[], Mapping[str, np.ndarray]],
    *,
    code: str | Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Load the arrays cached under ``key``, or ``make()`` them and cache them (``code``: see :func:`cache_path`)."""
    code = _producing_code(namespace, code)
    path = cache_path(namespace, key, ".npz", code=code)
    if path.exists():
        return load_arrays(path)
    arrays = {k: np.asarray(v) for k, v in make().items()}
    save_arrays(path, arrays)
    return arrays
