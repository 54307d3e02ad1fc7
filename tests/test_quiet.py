"""Reports stay clean: the simulators print nothing at the file-descriptor level, bars need a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest

from sensorimotor import progress


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with stdout and stderr captured (pipes: not terminals)."""
    import os

    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
        check=False,
    )


def test_plain_pybullet_does_print_so_the_check_below_can_see_it():
    out = _run(
        """
        import pybullet
        pybullet.connect(pybullet.DIRECT)
        """
    )
    assert out.returncode == 0, out.stderr
    assert "pybullet build time" in out.stdout + out.stderr


def test_importing_and_connecting_the_simulators_prints_nothing():
    out = _run(
        """
        import numpy as np

        from sensorimotor.gmn.hand_sim import grasp, sample_hand_poses
        from sensorimotor.gmn.scene_sim import random_object, render_views, sample_viewpoints
        from sensorimotor.mirror_align.tasks import TaskEnv
        from sensorimotor.sim.bullet import connect
        from sensorimotor.sim.tabletop import TabletopEnv
        from sensorimotor.som_ae.infant_sim import InfantSim

        connect().disconnect()
        with TabletopEnv(image_size=16) as env:
            env.reset()
            env.render()
        sim = InfantSim()
        sim.close()
        with TaskEnv(32, 32):
            pass
        gen = np.random.default_rng(0)
        obj = random_object(gen, 3)
        render_views(obj, sample_viewpoints(gen, 1), 16)
        grasp(obj, sample_hand_poses(gen, 1))
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "", f"fd 1 got {out.stdout!r}"
    assert out.stderr == "", f"fd 2 got {out.stderr!r}"


def test_silenced_fds_restores_output_and_keeps_what_came_before():
    out = _run(
        """
        import os, sys
        from sensorimotor.sim.bullet import silenced_fds

        print("before", flush=False)
        with silenced_fds():
            os.write(1, b"hidden-1\\n")
            os.write(2, b"hidden-2\\n")
            print("hidden-3")
        print("after")
        sys.stderr.write("err-after\\n")
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "before\nafter\n"
    assert out.stderr == "err-after\n"


def test_progress_bar_is_off_when_stderr_is_not_a_terminal():
    out = _run(
        """
        import sys
        from sensorimotor.progress import progress_bar, progress_enabled, track

        assert not sys.stderr.isatty()
        assert not progress_enabled()
        bar = progress_bar(total=5, desc="bar")
        assert bar.disable
        for _ in range(5):
            bar.update()
        bar.close()
        assert list(track(range(3), "items")) == [0, 1, 2]
        """
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == "" and out.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("env", "progress_arg", "shown"),
    [(None, True, True), ("1", True, True), ("0", True, False), (None, False, False)],
)
def test_progress_bar_on_a_terminal(monkeypatch, env, progress_arg, shown):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    if env is None:
        monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    else:
        monkeypatch.setenv(progress.PROGRESS_ENV, env)
    assert progress.progress_enabled(progress_arg) is shown
    items = list(progress.track(range(4), "items", progress=progress_arg))
    assert items == [0, 1, 2, 3]
    assert ("items" in terminal.getvalue()) is shown


def test_explicit_disable_wins():
    bar = progress.progress_bar(range(2), disable=True)
    assert bar.disable
    assert list(bar) == [0, 1]
