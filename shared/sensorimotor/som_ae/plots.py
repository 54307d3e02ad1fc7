"""Figures of the SOM-AE chapter (Jülg et al. 2023). Every function returns the matplotlib figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

MODEL_COLOURS = {"mean": "#9e9e9e", "kNN": "#8d6e63", "SOM": "#1f77b4", "SOM-AE": "#d62728"}
MODEL_MARKERS = {"mean": "s", "kNN": "^", "SOM": "o", "SOM-AE": "D"}
MODEL_HATCHES = {"mean": "", "kNN": "..", "SOM": "//", "SOM-AE": "xx"}


def _grey(ax, image, title: str | None = None, fontsize: int = 8) -> None:
    ax.imshow(np.asarray(image), cmap="gray", vmin=0.0, vmax=1.0 if np.asarray(image).dtype != np.uint8 else 255)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def plot_setup(external: np.ndarray, eye: np.ndarray, mask: np.ndarray, network_image: np.ndarray) -> Figure:
    """Fig. 1 analogue: third-person view, the right eye's frame (arm outlined), the 64 x 64 network input."""
    fig, axes = plt.subplots(1, 3, figsize=(7.5, 2.5), gridspec_kw={"width_ratios": [1, 1.67, 1]})
    axes[0].imshow(external)
    axes[0].set_title("(a) the simulated infant", fontsize=9)
    axes[1].imshow(eye)
    axes[1].contour(mask.astype(float), levels=[0.5], colors="#d62728", linewidths=0.8)
    axes[1].set_title(f"(b) right eye, {eye.shape[0]}x{eye.shape[1]}, arm outlined", fontsize=9)
    _grey(axes[2], network_image, f"(c) input {network_image.shape[0]}x{network_image.shape[1]} grey", 9)
    for ax in axes[:2]:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_joint_coverage(joints: np.ndarray, names: Sequence[str], low: np.ndarray, high: np.ndarray) -> Figure:
    """Histogram of each kept joint angle against the uniform density it was drawn from."""
    cols = 3
    rows = -(-len(names) // cols)
    fig, grid = plt.subplots(rows, cols, figsize=(7.5, 2.3 * rows), sharey=True, squeeze=False)
    axes = grid.ravel()
    for ax in axes[len(names) :]:
        ax.remove()  # no empty panels
    for j, (ax, name) in enumerate(zip(axes, names, strict=False)):
        lo, hi = np.degrees(low[j]), np.degrees(high[j])
        ax.hist(np.degrees(joints[:, j]), bins=24, range=(lo, hi), density=True, color="#1f77b4", alpha=0.8)
        ax.axhline(1.0 / (hi - lo), color="k", ls="--", lw=1, label="drawn (uniform)")
        ax.set_xlabel(f"{name} (deg)", fontsize=8)
        ax.tick_params(labelsize=8)
    for row in grid:
        row[0].set_ylabel("density", fontsize=8)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_ae_history(history: Mapping[str, Sequence[float]]) -> Figure:
    """Autoencoder: reconstruction MSE per epoch, training and validation."""
    fig, ax = plt.subplots(figsize=(4.5, 2.8))
    epochs = np.arange(1, len(history["train_mse"]) + 1)
    ax.plot(epochs, history["train_mse"], "o-", ms=3, label="train")
    if history.get("val_mse"):
        ax.plot(epochs, history["val_mse"], "s--", ms=3, label="validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch", fontsize=9)
    ax.set_ylabel("MSE", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_reconstructions(images: np.ndarray, reconstructions: np.ndarray) -> Figure:
    """Autoencoder: test images (top row) above their reconstructions (bottom row)."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(min(7.5, 0.95 * n + 0.3), 2.1), squeeze=False)
    for i in range(n):
        _grey(axes[0, i], images[i], "input" if i == 0 else None)
        _grey(axes[1, i], reconstructions[i], "decoded" if i == 0 else None)
    fig.tight_layout(pad=0.3)
    return fig


def plot_som_training(histories: Mapping[str, Mapping[str, object] | Sequence[Mapping[str, object]]]) -> Figure:
    """Quantisation error (minus the winners' combined activity) per epoch: one colour and marker per
    model, one line per map seed (a list of histories per model)."""
    fig, ax = plt.subplots(figsize=(4.5, 3))
    for name, runs in histories.items():
        runs = [runs] if isinstance(runs, Mapping) else list(runs)
        for i, history in enumerate(runs):
            errors = np.asarray(history["quantisation_error"])
            ax.plot(np.arange(1, len(errors) + 1), errors, marker=MODEL_MARKERS.get(name, "o"), ms=3, lw=1,
                    label=f"{name} ({len(runs)} seeds)" if i == 0 else None, color=MODEL_COLOURS.get(name))
    ax.set_yscale("log")
    ax.set_xlabel("epoch", fontsize=9)
    ax.set_ylabel("quantisation error (weighted MAE)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_mapping_losses(
    losses: Mapping[str, Mapping[str, np.ndarray]],
    labels: Sequence[str],
    paper: Mapping[str, Sequence[tuple[float, float]]] | None = None,
) -> Figure:
    """Test MAE (mean ± std) per mapping for each model; the paper's means as black ticks."""
    models = list(losses)
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    width = 0.8 / len(models)
    x = np.arange(len(labels))
    for i, model in enumerate(models):
        means = [float(np.mean(losses[model][label])) for label in labels]
        stds = [float(np.std(losses[model][label])) for label in labels]
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, means, width, yerr=stds, capsize=2, label=model, color=MODEL_COLOURS.get(model), alpha=0.85,
               hatch=MODEL_HATCHES.get(model, ""), edgecolor="white")
        if paper and model in paper:
            ax.scatter(pos, [m for m, _ in paper[model]], marker="_", s=200, color="k", zorder=3)
    if paper:
        ax.scatter([], [], marker="_", s=200, color="k", label="paper")
    ax.set_xticks(x, labels)
    ax.set_ylabel("test MAE")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, ncol=len(models) + 1, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def plot_table2(
    columns: Mapping[str, np.ndarray], joint_text: Mapping[str, Sequence[str]] | None = None
) -> Figure:
    """Table 2 analogue: one row per validation sample, one column per image (truth, predictions)."""
    names = list(columns)
    n = len(next(iter(columns.values())))
    width = min(1.45, 7.5 / len(names))
    fig, axes = plt.subplots(n, len(names), figsize=(width * len(names), 1.75 * n + 0.4), squeeze=False)
    for r in range(n):
        for c, name in enumerate(names):
            ax = axes[r, c]
            _grey(ax, columns[name][r], name.replace(": ", "\n") if r == 0 else None)
            if joint_text and name in joint_text:
                ax.set_xlabel(joint_text[name][r], fontsize=8, labelpad=2)
    fig.tight_layout(h_pad=0.8, w_pad=0.2)
    return fig


def plot_map_images(images: np.ndarray, rows: int, cols: int, title: str, max_side: int = 20) -> Figure:
    """The map's neurons as images on their grid (every k-th neuron when the map is larger than max_side)."""
    images = np.asarray(images).reshape(rows, cols, *np.asarray(images).shape[-2:])
    step_r, step_c = max(1, -(-rows // max_side)), max(1, -(-cols // max_side))
    images = images[::step_r, ::step_c]
    r, c, h, w = images.shape
    mosaic = np.ones((r * (h + 1) - 1, c * (w + 1) - 1), dtype=float)
    for i in range(r):
        for j in range(c):
            mosaic[i * (h + 1) : i * (h + 1) + h, j * (w + 1) : j * (w + 1) + w] = images[i, j]
    fig, ax = plt.subplots(figsize=(0.32 * c + 0.5, 0.32 * r + 0.6))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    note = f" (every {step_r}th row, {step_c}th column)" if step_r > 1 or step_c > 1 else ""
    ax.set_title(title + note, fontsize=9)
    fig.tight_layout()
    return fig


def plot_cost_scaling(
    neurons: np.ndarray,
    seconds_per_sample: Mapping[str, np.ndarray],
    map_bytes: Mapping[str, np.ndarray],
    paper_neurons: int | None = None,
    fits: Mapping[str, tuple[float, float]] | None = None,
    paper_bytes: Mapping[str, float] | None = None,
) -> Figure:
    """Training cost against map size: seconds per sample (left) and map bytes (right), log-log.

    ``paper_bytes`` (per model) marks the paper's map sizes at ``paper_neurons`` with stars.
    """
    fig, axes = plt.subplots(2, 1, figsize=(6.5, 6.2))
    for name, seconds in seconds_per_sample.items():
        colour = MODEL_COLOURS.get(name)
        marker = MODEL_MARKERS.get(name, "o")
        axes[0].loglog(neurons, seconds, marker, color=colour, label=f"{name} measured")
        if fits and name in fits:
            a, b = fits[name]
            span = np.array([neurons.min(), paper_neurons or neurons.max()], dtype=float)
            grid = np.geomspace(*span, 50)
            axes[0].loglog(grid, a + b * grid, "-" if name == "SOM" else "--", color=colour, lw=1, alpha=0.7, label=f"{name} linear fit")
        axes[1].loglog(neurons, map_bytes[name], marker + ("-" if name == "SOM" else "--"), color=colour, label=name)
        if paper_bytes and paper_neurons and name in paper_bytes:
            axes[1].loglog([paper_neurons], [paper_bytes[name]], "*", ms=12, color=colour, label=f"{name} paper")
    if paper_neurons:
        for ax in axes:
            ax.axvline(paper_neurons, color="k", ls=":", lw=1)
        axes[0].text(paper_neurons, axes[0].get_ylim()[0], " paper map", fontsize=8, va="bottom")
    axes[0].set_xlabel("neurons")
    axes[0].set_ylabel("training seconds per sample")
    axes[1].set_xlabel("neurons")
    axes[1].set_ylabel("map tensor bytes")
    for ax in axes:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
