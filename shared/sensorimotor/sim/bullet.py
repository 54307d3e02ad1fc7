"""pybullet without its C-level chatter: the one place the library imports pybullet and connects.

pybullet prints from C straight to the process's file descriptors (``pybullet build time: ...`` on
import, ``argv[0]=`` on connecting), past ``sys.stdout``/``sys.stderr``, so the lines land in executed
reports and test logs. :func:`import_pybullet` and :func:`connect` run those two steps with fd 1 and 2
pointed at ``/dev/null`` (:func:`silenced_fds`). Every simulator of the library gets pybullet here::

    from sensorimotor.sim.bullet import connect, pybullet as p

    client = connect()            # a BulletClient in DIRECT mode (p.GUI for a window)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

__all__ = ["connect", "import_pybullet", "pybullet", "silenced_fds"]


def _flush_all() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    with contextlib.suppress(Exception):  # C stdio buffers (a pipe's stdout is fully buffered)
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def silenced_fds() -> Iterator[None]:
    """Point file descriptors 1 and 2 at ``/dev/null`` for the block, then restore them.

    Python's and C's buffers are flushed before (so earlier output is not lost) and after (so the
    block's output goes to ``/dev/null``, not to the restored streams). If the descriptors cannot be
    duplicated (closed, or no such thing on this platform) the block runs unchanged.
    """
    _flush_all()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:
        saved = None
    if saved is None:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        _flush_all()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def import_pybullet() -> ModuleType:
    """The ``pybullet`` module, imported (the first time) without its build-time banner."""
    if "pybullet" not in sys.modules:
        with silenced_fds():
            import pybullet  # noqa: F401
    return sys.modules["pybullet"]


pybullet = import_pybullet()


def connect(mode: int | None = None, **kwargs: Any):
    """A new :class:`pybullet_utils.bullet_client.BulletClient` (``pybullet.DIRECT`` unless ``mode``),
    connected without pybullet's start-up prints. ``kwargs`` go to ``BulletClient`` (e.g. ``options``)."""
    from pybullet_utils.bullet_client import BulletClient

    with silenced_fds():
        return BulletClient(connection_mode=pybullet.DIRECT if mode is None else mode, **kwargs)
