"""Figures of the DMBN chapter (Seker et al. 2022, Figs. 4-10 and Table 1)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

MODEL_COLOURS = {"DMBN": "#1f77b4", "MVAE": "#d62728", "Image-only DMBN": "#9467bd"}
MODALITY_COLOURS = {"image": "#1f77b4", "joint": "#d62728"}
# models and modalities also differ by marker and line style, so the figures read in grey too
MODEL_STYLES = {"DMBN": ("o", "-"), "MVAE": ("s", "--"), "Image-only DMBN": ("^", ":")}
MODALITY_MARKERS = {"image": "o", "joint": "^"}
JOINT_MARKERS = ("o", "s", "^", "v", "D", "x", "+", "*")
MAX_WIDTH = 7.2  # inches: the book's column at about 110 dpi


def _grid(n: int, max_cols: int = 2) -> tuple[int, int]:
    cols = min(n, max_cols)
    return (n + cols - 1) // cols, cols


def to_hwc(image: np.ndarray) -> np.ndarray:
    """An image as (H, W, 3) floats in [0, 1], from (3, H, W) floats or (H, W, 3) uint8/floats."""
    x = np.asarray(image)
    if x.ndim != 3:
        raise ValueError(f"expected one image (3, H, W) or (H, W, 3), got shape {x.shape}")
    if x.shape[0] == 3 and x.shape[-1] != 3:
        x = x.transpose(1, 2, 0)
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return np.clip(x, 0.0, 1.0)


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def loss_curves(curves: Mapping[str, np.ndarray], smooth: int = 50):
    """Training losses (moving average over ``smooth`` steps), one panel per curve."""
    fig, axes = plt.subplots(1, len(curves), figsize=(min(MAX_WIDTH, 3.6 * len(curves)), 2.8), squeeze=False)
    for ax, (name, losses) in zip(axes[0], curves.items(), strict=True):
        losses = np.asarray(losses, dtype=float)
        k = max(1, min(smooth, len(losses) // 5 or 1))
        avg = np.convolve(losses, np.ones(k) / k, mode="valid") if len(losses) >= k else losses
        ax.plot(np.arange(len(avg)) + k - 1, avg, lw=1)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
    fig.tight_layout()
    return fig


def fig4(examples: Sequence[Mapping], joint_names: Sequence[str], frames: Sequence[int]):
    """Fig. 4: per example (one block of rows each), (I) the observation, (II) predicted frames, (III) true
    frames, (IV) joints; the examples are stacked so the figure stays legible at a book's column width.

    Each example: ``title``, ``observation`` image, ``pred`` and ``true`` videos (T, ...), ``pred_joints``
    and ``true_joints`` (T, D) in physical units, ``t`` (T,), ``cond_step``.
    """
    n_ex, k = len(examples), len(frames)
    fig = plt.figure(figsize=(MAX_WIDTH, 4.4 * n_ex + 0.6))
    outer = fig.add_gridspec(n_ex, 1, hspace=0.35)
    colours = plt.cm.tab10(np.arange(len(joint_names)) % 10)
    for e, ex in enumerate(examples):
        grid = outer[e].subgridspec(3, k + 1, height_ratios=[1, 1, 1.7], hspace=0.3, wspace=0.15)
        ax = fig.add_subplot(grid[0, 0])
        ax.imshow(to_hwc(ex["observation"]))
        ax.set_title(f"(I) obs t={ex['cond_step']}", fontsize=8)
        _off(ax)
        for j, step in enumerate(frames):
            for row, key in ((0, "pred"), (1, "true")):
                ax = fig.add_subplot(grid[row, 1 + j])
                ax.imshow(to_hwc(ex[key][step]))
                _off(ax)
                if row == 0:
                    ax.set_title(f"t={step}", fontsize=8)
        ax = fig.add_subplot(grid[1, 0])
        ax.text(0.5, 0.5, f"{ex['title']}\n\n(II) top row:\npredicted\n(III) this row:\ntrue", ha="center", va="center",
                fontsize=8)
        ax.axis("off")
        ax = fig.add_subplot(grid[2, :])
        t = np.asarray(ex["t"])
        every = max(1, len(t) // 6)
        for d, name in enumerate(joint_names):
            marker = JOINT_MARKERS[d % len(JOINT_MARKERS)]
            ax.plot(t, ex["true_joints"][:, d], color=colours[d], lw=1.5, marker=marker, ms=3, markevery=every,
                    label=name)
            ax.plot(t, ex["pred_joints"][:, d], color=colours[d], lw=1.2, ls="--", marker=marker, ms=3,
                    markevery=every)
        ax.axvline(t[ex["cond_step"]], color="k", lw=0.8, ls=":")
        ax.set_xlabel("normalised time (solid: true, dashed: predicted; dotted: observation)", fontsize=8)
        ax.set_ylabel("(IV) joints\n(rad / m)", fontsize=8)
        ax.tick_params(labelsize=8)
        if e == n_ex - 1:  # one legend for all blocks, under the last one
            ax.legend(fontsize=8, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.32), frameon=False)
    return fig


def fig5(results: Mapping[str, Mapping[str, np.ndarray]], sizes: Sequence[int], ylabels: Mapping[str, str]):
    """Fig. 5: error against training-set size, one panel per input->output pair, mean +- std over seeds.

    ``results[panel][model]`` is ``(len(sizes), n_seeds)``.
    """
    panels = list(results)
    rows, cols = _grid(len(panels))
    fig, axes = plt.subplots(rows, cols, figsize=(MAX_WIDTH, 2.7 * rows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.remove()
    for ax, panel in zip(axes.flat, panels, strict=False):
        for model, errs in results[panel].items():
            errs = np.asarray(errs, dtype=float)
            mean, std = np.nanmean(errs, 1), np.nanstd(errs, 1)
            colour = MODEL_COLOURS.get(model)
            marker, ls = MODEL_STYLES.get(model, ("o", "-"))
            ax.plot(sizes, mean, marker=marker, ls=ls, color=colour, label=model)
            ax.fill_between(sizes, mean - std, mean + std, color=colour, alpha=0.2)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("training interactions")
        ax.set_ylabel(ylabels.get(panel, "MSE"))
        ax.set_yscale("log")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig6(errors: Mapping[str, Mapping[str, np.ndarray]]):
    """Fig. 6: error against the number of prediction steps ``|t - t_cond|``; ``errors[modality][model]``."""
    fig, axes = plt.subplots(1, len(errors), figsize=(MAX_WIDTH, 3.0), squeeze=False)
    for ax, (modality, per_model) in zip(axes[0], errors.items(), strict=True):
        for model, curve in per_model.items():
            marker, ls = MODEL_STYLES.get(model, ("o", "-"))
            ax.plot(np.arange(len(curve)), curve, marker=marker, ls=ls, ms=3, color=MODEL_COLOURS.get(model),
                    label=model)
        ax.set_title(f"{modality} prediction")
        ax.set_xlabel("prediction steps from the observation")
        ax.set_ylabel("MSE")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def fig7(embeddings: Mapping[int, np.ndarray], n_states: int, retrieval: Mapping[int, float] | None = None):
    """Fig. 7: t-SNE of image (blue) and joint (red) encodings at several training steps.

    ``embeddings[step]`` is ``(2 n_states, 2)``: the image encodings first, then the joint ones.
    """
    steps = sorted(embeddings)
    rows, cols = _grid(len(steps))
    fig, axes = plt.subplots(rows, cols, figsize=(min(MAX_WIDTH, 3.4 * cols), 3.1 * rows), squeeze=False)
    for ax in axes.flat[len(steps):]:
        ax.remove()
    for ax, step in zip(axes.flat, steps, strict=False):
        e = embeddings[step]
        ax.scatter(e[:n_states, 0], e[:n_states, 1], s=6, c=MODALITY_COLOURS["image"], marker=MODALITY_MARKERS["image"],
                   label="image", alpha=0.7)
        ax.scatter(e[n_states:, 0], e[n_states:, 1], s=6, c=MODALITY_COLOURS["joint"], marker=MODALITY_MARKERS["joint"],
                   label="joint", alpha=0.7)
        title = f"step {step}"
        if retrieval is not None and step in retrieval:
            title += f"\nretrieval {retrieval[step]:.2f}"
        ax.set_title(title, fontsize=9)
        _off(ax)
    axes[0, 0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def response_gallery(rows: Sequence[Mapping], frames: Sequence[int]):
    """Figs. 8-9: per row, the observed image of the other agent, then our imagined frames and the label.

    Each row: ``observation`` image, ``pred`` video (T, ...), ``title``.
    """
    n, k = len(rows), len(frames)
    cell = min(1.1, (MAX_WIDTH - 1.6) / (k + 1))
    fig, axes = plt.subplots(n, k + 1, figsize=(cell * (k + 1) + 1.6, cell * 1.08 * n + 0.3), squeeze=False)
    for r, row in enumerate(rows):
        axes[r, 0].imshow(to_hwc(row["observation"]))
        axes[r, 0].set_ylabel(row["title"], fontsize=8, rotation=0, ha="right", va="center")
        _off(axes[r, 0])
        for j, step in enumerate(frames):
            axes[r, j + 1].imshow(to_hwc(row["pred"][step]))
            _off(axes[r, j + 1])
            if r == 0:
                axes[r, j + 1].set_title(f"t={step}", fontsize=8)
    axes[0, 0].set_title("observed", fontsize=8)
    fig.tight_layout()
    return fig


def fig10(cases: Sequence[Mapping]):
    """Fig. 10: observation, nearest training image in pixel space, nearest in latent space.

    Each case: ``title``, ``observation``, ``pixel_image``, ``pixel_label``, ``latent_image``, ``latent_label``.
    """
    fig, axes = plt.subplots(len(cases), 3, figsize=(6.5, 2.3 * len(cases)), squeeze=False)
    for r, case in enumerate(cases):
        for c, (key, label) in enumerate(
            (("observation", case["title"]), ("pixel_image", f"closest pixel\n({case['pixel_label']})"),
             ("latent_image", f"closest representation\n({case['latent_label']})"))
        ):
            axes[r, c].imshow(to_hwc(case[key]))
            axes[r, c].set_title(label, fontsize=8)
            _off(axes[r, c])
    fig.tight_layout()
    return fig


def novelty_gallery(rows: Sequence[Mapping], frames: Sequence[int]):
    """Appendix A-B: same layout as :func:`response_gallery`."""
    return response_gallery(rows, frames)
