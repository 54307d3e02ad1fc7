"""Progress bars that show in a terminal and nowhere else.

Every loop of the library that reports progress goes through :func:`progress_bar` (or :func:`track`
for a plain iterable). A bar is drawn only when

- the caller did not pass ``progress=False``,
- ``$SENSORIMOTOR_PROGRESS`` is not ``"0"``, and
- ``sys.stderr`` is a terminal.

A papermill kernel's stderr is not a terminal, so executed reports get no progress-bar frames. The bars
are plain ``tqdm.std`` bars (``tqdm.auto`` would warn about missing widgets inside a kernel).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.std import tqdm

PROGRESS_ENV = "SENSORIMOTOR_PROGRESS"

T = TypeVar("T")

__all__ = ["PROGRESS_ENV", "progress_bar", "progress_enabled", "track"]


def progress_enabled(progress: bool = True) -> bool:
    """Whether a bar would be drawn now (see the module docstring)."""
    if not progress or os.environ.get(PROGRESS_ENV, "").strip() == "0":
        return False
    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable: Iterable[Any] | None = None, *, progress: bool = True, **kwargs: Any) -> tqdm:
    """A ``tqdm`` bar (same arguments: ``total``, ``desc``, ``unit``, ``leave``, ...), disabled unless
    :func:`progress_enabled`. ``disable=True`` disables it too. A disabled bar still counts, iterates
    and accepts ``update``/``set_postfix_str``/``close``; it just draws nothing."""
    disable = bool(kwargs.pop("disable", False)) or not progress_enabled(progress)
    return tqdm(iterable, disable=disable, **kwargs)


def track(iterable: Iterable[T], desc: str | None = None, *, progress: bool = True, **kwargs: Any) -> Iterable[T]:
    """Iterate over ``iterable`` with a :func:`progress_bar` labelled ``desc``."""
    return progress_bar(iterable, desc=desc, progress=progress, **kwargs)
