"""The jobs layer's executor for plain calls: closures that train into the cache, run in forked workers.

For chapters whose trainings are still closures over the notebook's data (not yet declared as
:class:`sensorimotor.jobs.Job`\\ s with JSON arguments): each call trains through the cache and writes its
own entry; the caller then makes the same calls, which load. Forked workers see the closures without
pickling them, so this runs on this machine only (no Ray); declare jobs to run anywhere.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

_CALLS: Sequence[Callable[[], Any]] = ()


def _run_call(index: int) -> None:
    import torch

    torch.set_num_threads(1)
    _CALLS[index]()


def run_calls(calls: Sequence[Callable[[], Any]], workers: int) -> int:
    """Run ``calls`` in ``workers`` forked processes of one torch thread each; returns how many ran.

    Nothing runs here (returns 0, the caller makes the calls itself) with ``workers <= 1``, fewer than
    two calls, or no ``fork`` (Windows, macOS's default). Each call must be seeded by its own knobs, so
    that what it writes does not depend on where it ran.
    """
    global _CALLS
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers={workers!r}; accepted: an int >= 0")
    if workers <= 1 or len(calls) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return 0
    _CALLS = list(calls)
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(calls))) as pool:
            pool.map(_run_call, range(len(calls)), chunksize=1)
    finally:
        _CALLS = ()
    return len(calls)
