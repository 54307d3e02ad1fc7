"""Render the figures of ``book/simulator.md`` with the library itself.

::

    python -m sensorimotor.sim.tabletop_figures book/figures/simulator [--size 128]

Writes small PNGs (each well under 300 KB): the scene, push and grasp frame strips from several
angles, the same at 64x64 (the default profile's resolution), the other-agent views of the paper's
Figs. 8-9, the novel configurations of Appendices A-B, and the proprioceptive traces of one push and
one grasp. Every image comes from the same code path
as the datasets (``TabletopEnv.perform`` with the ``"ego"`` camera), except the overview, which uses
the Panda's full-detail meshes for looks.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from sensorimotor.sim.tabletop import TabletopEnv
from sensorimotor.sim.tabletop_robots import joint_names

STRIP_T = (0.0, 0.3, 0.45, 0.6, 0.75, 1.0)
N_FRAMES = 41  # record at t = k / 40, so every STRIP_T is a recorded step


def _frames(rec: dict, times=STRIP_T) -> list[np.ndarray]:
    t = rec["t"]
    return [rec["images"][int(np.argmin(np.abs(t - s)))] for s in times]


def _grid(
    rows: list[tuple[str, list[np.ndarray]]], path: Path, col_titles=None, tile_inches: float = 1.15
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(rows), max(len(images) for _, images in rows)
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(tile_inches * n_cols + 1.3, tile_inches * n_rows + 0.3), squeeze=False
    )
    for r, (label, images) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c < len(images):
                ax.imshow(images[c], interpolation="nearest")
            if c == 0:
                ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
            if r == 0 and col_titles is not None and c < len(col_titles):
                ax.set_title(col_titles[c], fontsize=8)
    fig.subplots_adjust(
        left=0.17, right=0.995, top=0.93 if col_titles else 0.995, bottom=0.005, wspace=0.03, hspace=0.05
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _deg(angle: float) -> str:
    return f"{math.degrees(angle):+.0f}°"


def render_all(out_dir: str | Path, size: int = 128) -> list[Path]:
    """Render every figure into ``out_dir``; returns the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    t_titles = [f"t = {s:.2f}" for s in STRIP_T]

    with TabletopEnv(image_size=size) as env:
        # Push and grasp from several angles (our robot, our camera).
        angles = (0.0, math.pi / 2, math.pi, -3 * math.pi / 4)
        for action in ("push", "grasp"):
            rows = []
            for angle in angles:
                env.reset()
                rec = env.perform(action, angle, n_frames=N_FRAMES)
                rows.append((f"{action} {_deg(angle)}", _frames(rec)))
            path = out / f"{action}_strips.png"
            _grid(rows, path, t_titles)
            written.append(path)

        # Other agents (paper Figs. 8-9): our robot rests, the other acts, our camera records.
        cases = [
            ("opposite: push 0°", "opposite", "push", 0.0, "full"),
            ("opposite: grasp 0°", "opposite", "grasp", 0.0, "full"),
            ("opposite: pull", "opposite", "pull", 0.0, "full"),
            ("left: pull", "left", "pull", 0.0, "full"),
            ("opposite: pull,\nhand only", "opposite", "pull", 0.0, "hand_only"),
            ("opposite: pull,\nhand + base", "opposite", "pull", 0.0, "hand_and_base"),
            ("left: pull,\nhand + base", "left", "pull", 0.0, "hand_and_base"),
        ]
        rows = []
        for label, side, action, angle, view in cases:
            env.reset(other=side, view=view)
            rows.append((label, _frames(env.perform(action, angle, agent=side, n_frames=N_FRAMES))))
        path = out / "other_agents.png"
        _grid(rows, path, t_titles)
        written.append(path)

        # Novel configurations (Appendices A-B), on our own robot.
        cases = [
            ("red gripper:\npush 45°", ("red_gripper",), "push", math.pi / 4),
            ("other gripper:\npush -45°", ("other_gripper",), "push", -math.pi / 4),
            ("other gripper:\ngrasp 90°", ("other_gripper",), "grasp", math.pi / 2),
            ("blue object:\npush 135°", ("blue_object",), "push", 3 * math.pi / 4),
            ("big object:\ngrasp 0°", ("big_object",), "grasp", 0.0),
        ]
        rows = []
        for label, novelty, action, angle in cases:
            env.reset(novelty=novelty)
            rows.append((label, _frames(env.perform(action, angle, n_frames=N_FRAMES))))
        path = out / "novel_configurations.png"
        _grid(rows, path, t_titles)
        written.append(path)

        # What the default profile's models see: 64x64 frames.
        rows = []
        times64 = tuple(np.linspace(0.0, 1.0, 8))
        for action, angle in (("push", -math.pi / 3), ("grasp", 2 * math.pi / 3)):
            env.reset()
            rec = env.perform(action, angle, n_frames=50, size=64)
            rows.append((f"{action} {_deg(angle)}\n64x64", _frames(rec, times64)))
        path = out / "frames_64px.png"
        _grid(rows, path, [f"t = {s:.2f}" for s in times64], tile_inches=0.9)
        written.append(path)

        # Proprioception of one push and one grasp.
        env.reset()
        push = env.perform("push", math.pi / 2, n_frames=50, render=False)
        env.reset()
        grasp = env.perform("grasp", math.pi / 2, n_frames=50, render=False)
        written.append(_plot_joints(push, grasp, out / "joints.png"))

    # The scene: overview with full-detail meshes, and what our camera sees, with other agents.
    with TabletopEnv(image_size=size, mesh_detail="high") as env:
        env.reset(other="opposite")
        overview = env.render("overview", size=2 * size)
        env.reset(other="left")
        overview_left = env.render("overview", size=2 * size)
    with TabletopEnv(image_size=size) as env:
        env.reset()
        ego = env.render("ego")
        env.reset(other="opposite")
        ego_opposite = env.render("ego")
        env.reset(other="left")
        ego_left = env.render("ego")
    path = out / "scene.png"
    _scene_figure(overview, overview_left, ego, ego_opposite, ego_left, path)
    written.append(path)
    return written


def _scene_figure(overview, overview_left, ego, ego_opposite, ego_left, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9.0, 4.2))
    grid = fig.add_gridspec(2, 4, width_ratios=[2, 2, 1, 1])
    panels = [
        (grid[:, 0], overview, "overview from our right: our robot (left)\nand one on the opposite side"),
        (grid[:, 1], overview_left, "overview: an agent on our left (back)"),
        (grid[0, 2], ego, "our camera ('ego')"),
        (grid[0, 3], ego_opposite, "ego, other: opposite"),
        (grid[1, 2], ego_left, "ego, other: left"),
    ]
    for spec, image, title in panels:
        ax = fig.add_subplot(spec)
        ax.imshow(image, interpolation="nearest")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_joints(push: dict, grasp: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = joint_names("panda")
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 2.8), sharey=False)
    for ax, rec, title in ((axes[0], push, "push 90°"), (axes[1], grasp, "grasp 90°")):
        for j in range(len(names) - 1):
            ax.plot(rec["t"], rec["joints"][:, j], lw=1.2, label=names[j].replace("panda_", ""))
        twin = ax.twinx()
        twin.plot(rec["t"], rec["joints"][:, -1], "k--", lw=1.2, label="gripper opening")
        twin.set_ylim(-0.005, 0.085)
        twin.set_ylabel("opening (m)", fontsize=8)
        ax.set_xlabel("normalised time t", fontsize=8)
        ax.set_ylabel("joint angle (rad)", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=7)
        twin.tick_params(labelsize=7)
    axes[0].legend(fontsize=6, ncol=2, loc="lower left")
    twin.legend(fontsize=6, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default="book/figures/simulator")
    parser.add_argument("--size", type=int, default=128, help="camera resolution of the strips (default 128)")
    args = parser.parse_args(argv)
    for path in render_all(args.out_dir, args.size):
        print(f"{path}  {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
