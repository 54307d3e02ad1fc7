"""Figures of the GMN/APoE chapter (Lim et al. 2019, Figs. 1, 3, 4, 5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

SCHEME_COLOURS = {"apoe": "#1f77b4", "baseline": "#ff7f0e", "poe": "#2ca02c"}  # the paper: APoE blue, baseline orange
SCHEME_LABELS = {"apoe": "APoE", "baseline": "baseline", "poe": "PoE"}
EXTRA_STYLES = ("dotted", "dashed", "dashdot", "solid")


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_scene(data: Mapping[str, np.ndarray], scene: int, n_views: int = 6, feature_names: Sequence[str] | None = None):
    """A scene's first views and its haptic senses (one row per grasp) as a heat map."""
    fig = plt.figure(figsize=(2 + 1.3 * n_views, 4.2))
    grid = fig.add_gridspec(2, n_views, height_ratios=[1, 1.3])
    for v in range(n_views):
        ax = fig.add_subplot(grid[0, v])
        ax.imshow(data["images"][scene, v])
        _off(ax)
        ax.set_title(f"view {v}", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    im = ax.imshow(data["haptics"][scene], aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_ylabel("grasp")
    ax.set_xlabel("haptic sense dimension (10 per finger: 3 joints, 3 contacts, 3 pressures, tip ray; 9 palm rays)")
    for x in range(10, 50, 10):
        ax.axvline(x - 0.5, color="w", lw=0.8)
    fig.colorbar(im, ax=ax, fraction=0.02)
    fig.tight_layout()
    return fig


def plot_training(histories: Mapping[str, Mapping[str, Sequence[float]]], window: int = 25):
    """Negative ELBO per target dimension and KL along training, smoothed over ``window`` steps."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    kernel = np.ones(window) / window
    for name, hist in histories.items():
        colour = SCHEME_COLOURS.get(name)
        for ax, key in zip(axes, ("nll_per_dim", "kl"), strict=True):
            y = np.asarray(hist[key])
            smooth = np.convolve(y, kernel, mode="valid") if len(y) > window else y
            ax.plot(np.arange(len(smooth)) + (len(y) - len(smooth)), smooth, label=SCHEME_LABELS.get(name, name), color=colour)
    axes[0].set_ylabel("-ELBO per target dim (nats)")
    axes[1].set_ylabel("KL(q || p) per scene (nats)")
    for ax in axes:
        ax.set_xlabel("training step")
        ax.legend()
    fig.tight_layout()
    return fig


def plot_density(results: Mapping[str, Mapping[str, np.ndarray]], counts: Sequence[int], extra: Sequence[int],
                 panels: Mapping[str, str]):  # fmt: skip
    """Fig. 3: one panel per (source -> target) setting; log-likelihood per target against context count.

    ``results[scheme][panel]`` is (len(extra), len(counts)); line style encodes the extra target-modality
    contexts (dotted = none, i.e. fully cross-modal).
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6))
    for ax, (panel, title) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        for scheme, per_panel in results.items():
            for i, k in enumerate(extra):
                ax.plot(counts, per_panel[panel][i], color=SCHEME_COLOURS.get(scheme), ls=EXTRA_STYLES[i % 4],
                        marker="o", ms=3, label=f"{SCHEME_LABELS.get(scheme, scheme)}, +{k} target ctx")  # fmt: skip
        ax.set_title(title)
        ax.set_xlabel("number of source-modality contexts")
        ax.set_ylabel("log-likelihood per target (nats)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_generation(outputs: Mapping[str, Mapping[str, np.ndarray]]):
    """Fig. 1: the context image, sampled images (one row per z sample) and the truth, per model."""
    n_models = len(outputs)
    first = next(iter(outputs.values()))
    n_samples, n_queries = first["samples"].shape[:2]
    rows = n_models * (n_samples + 1)
    fig, axes = plt.subplots(rows, n_queries + 1, figsize=(1.2 * (n_queries + 1), 1.25 * rows))
    for m, (name, out) in enumerate(outputs.items()):
        base = m * (n_samples + 1)
        for s in range(n_samples + 1):
            ax = axes[base + s, 0]
            if s == 0 and len(out["context_images"]):
                ax.imshow(out["context_images"][0])
                ax.set_title("context", fontsize=7)
            ax.axis("off")
            for q in range(n_queries):
                ax = axes[base + s, q + 1]
                ax.imshow(out["samples"][s, q] if s < n_samples else out["truth"][q])
                _off(ax)
            axes[base + s, 1].set_ylabel(f"{name}\nz{s + 1}" if s < n_samples else "truth", fontsize=7)
    fig.tight_layout()
    return fig


def plot_classification(results: Mapping[str, Mapping[str, np.ndarray]], counts: Sequence[int], chance: float):
    """Fig. 4: accuracy against the number of contexts, for I, H and H+I contexts, per model."""
    styles = {"I": "dashed", "H": "dotted", "H+I": "solid"}
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for scheme, per_config in results.items():
        for config, acc in per_config.items():
            ax.plot(counts, acc, color=SCHEME_COLOURS.get(scheme), ls=styles.get(config, "solid"), marker="o", ms=3,
                    label=f"{SCHEME_LABELS.get(scheme, scheme)} {config}")  # fmt: skip
    ax.axhline(chance, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xlabel("number of contexts per modality")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def plot_missing(histories: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]):
    """Fig. 5: per setting, -ELBO per dim on train-like (val_missing) and all (val_full) combinations."""
    fig, axes = plt.subplots(1, len(histories), figsize=(5 * len(histories), 3.5), squeeze=False)
    for ax, (setting, per_scheme) in zip(axes[0], histories.items(), strict=True):
        for scheme, hist in per_scheme.items():
            steps = np.asarray(hist["eval/step"])
            keep = steps > 0 if (steps > 0).sum() >= 2 else np.ones(len(steps), bool)  # step 0 would flatten the axis
            for key, ls in (("eval/val_missing", "dashed"), ("eval/val_full", "solid")):
                ax.plot(steps[keep], np.asarray(hist[key])[keep], color=SCHEME_COLOURS.get(scheme), ls=ls, marker="o", ms=3,
                        label=f"{SCHEME_LABELS.get(scheme, scheme)} {key.split('/')[1]}")  # fmt: skip
        ax.set_title(setting)
        ax.set_xlabel("training step")
        ax.set_ylabel("-ELBO per target dim (nats)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
