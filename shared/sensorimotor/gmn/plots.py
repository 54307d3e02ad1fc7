"""Figures of the GMN/APoE chapter (Lim et al. 2019, Figs. 1, 3, 4, 5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

SCHEME_COLOURS = {"apoe": "#1f77b4", "baseline": "#ff7f0e", "poe": "#2ca02c", "eq2": "#9467bd"}  # the paper: APoE blue, baseline orange
SCHEME_LABELS = {"apoe": "APoE", "baseline": "baseline", "poe": "PoE", "eq2": "APoE (eq. 2)"}
SCHEME_MARKERS = {"apoe": "o", "baseline": "s", "poe": "^", "eq2": "D"}
EXTRA_STYLES = ("dotted", "dashed", "dashdot", "solid")
CONTEXT_STYLES = {"I": ("dashed", "s"), "H": ("dotted", "^"), "H+I": ("solid", "o")}  # Fig. 4: line style, marker


def _off(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def plot_scene(data: Mapping[str, np.ndarray], scene: int, n_views: int = 6, feature_names: Sequence[str] | None = None):
    """A scene's first views and its haptic senses (one row per grasp) as a heat map."""
    fig = plt.figure(figsize=(min(7.2, 1.2 * n_views), 3.8))
    grid = fig.add_gridspec(2, n_views, height_ratios=[1, 1.3])
    for v in range(n_views):
        ax = fig.add_subplot(grid[0, v])
        ax.imshow(data["images"][scene, v])
        _off(ax)
        ax.set_title(f"view {v}", fontsize=8)
    ax = fig.add_subplot(grid[1, :])
    im = ax.imshow(data["haptics"][scene], aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_ylabel("grasp")
    ax.set_xlabel("haptic sense dimension (per finger: 3 joints, 3 contacts,\n3 pressures, tip ray; then 9 palm rays)", fontsize=8)
    for x in range(10, 50, 10):
        ax.axvline(x - 0.5, color="w", lw=0.8)
    fig.colorbar(im, ax=ax, fraction=0.02)
    fig.tight_layout()
    return fig


def plot_training(histories: Mapping[str, Mapping[str, Sequence[float]]], window: int = 25):
    """Negative ELBO per target dimension and KL along training, smoothed over ``window`` steps."""
    fig, axes = plt.subplots(1, 2, figsize=(7.2, 3.0))
    kernel = np.ones(window) / window
    for name, hist in histories.items():
        colour = SCHEME_COLOURS.get(name)
        for ax, key in zip(axes, ("nll_per_dim", "kl"), strict=True):
            y = np.asarray(hist[key])
            smooth = np.convolve(y, kernel, mode="valid") if len(y) > window else y
            ax.plot(np.arange(len(smooth)) + (len(y) - len(smooth)), smooth, label=SCHEME_LABELS.get(name, name), color=colour,
                    ls="solid" if name == "apoe" else "dashed")  # fmt: skip
    axes[0].set_ylabel("-ELBO per target dim (nats)")
    axes[1].set_ylabel("KL(q || p) per scene (nats)")
    for ax in axes:
        ax.set_xlabel("training step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_density(results: Mapping[str, Mapping[str, np.ndarray]], counts: Sequence[int], extra: Sequence[int],
                 panels: Mapping[str, str], spread: Mapping[str, Mapping[str, np.ndarray]] | None = None):  # fmt: skip
    """Fig. 3: one panel per (source -> target) setting; log-likelihood per target against context count.

    ``results[scheme][panel]`` is (len(extra), len(counts)); line style encodes the extra target-modality
    contexts (dotted = none, i.e. fully cross-modal); colour and marker the model. One panel per row.
    ``spread`` (same layout, e.g. the standard deviation over seeds) is drawn as error bars.
    """
    fig, axes = plt.subplots(len(panels), 1, figsize=(6.8, 2.5 * len(panels)), sharex=True)
    for ax, (panel, title) in zip(np.atleast_1d(axes), panels.items(), strict=True):
        for scheme, per_panel in results.items():
            for i, k in enumerate(extra):
                err = None if spread is None else spread[scheme][panel][i]
                ax.errorbar(counts, per_panel[panel][i], yerr=err, color=SCHEME_COLOURS.get(scheme), ls=EXTRA_STYLES[i % 4],
                            marker=SCHEME_MARKERS.get(scheme, "o"), ms=4, capsize=2, lw=1.2,
                            label=f"{SCHEME_LABELS.get(scheme, scheme)}, +{k} target ctx")  # fmt: skip
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("log-lik. per target\n(nats)", fontsize=8)
    np.atleast_1d(axes)[-1].set_xlabel("number of source-modality contexts")
    np.atleast_1d(axes)[-1].set_xticks(list(counts))
    np.atleast_1d(axes)[0].legend(fontsize=8, handlelength=3, ncol=2)
    fig.tight_layout()
    return fig


def plot_generation(outputs: Mapping[str, Mapping[str, np.ndarray]]):
    """Fig. 1: the context image, sampled images (one row per z sample) and the truth, per model."""
    n_models = len(outputs)
    first = next(iter(outputs.values()))
    n_samples, n_queries = first["samples"].shape[:2]
    rows = n_models * (n_samples + 1)
    fig, axes = plt.subplots(rows, n_queries + 1, figsize=(min(7.2, 1.0 * (n_queries + 1)), 1.0 * rows))
    for m, (name, out) in enumerate(outputs.items()):
        base = m * (n_samples + 1)
        for s in range(n_samples + 1):
            ax = axes[base + s, 0]
            if s == 0 and len(out["context_images"]):
                ax.imshow(out["context_images"][0])
                ax.set_title("context", fontsize=8)
            ax.axis("off")
            for q in range(n_queries):
                ax = axes[base + s, q + 1]
                ax.imshow(out["samples"][s, q] if s < n_samples else out["truth"][q])
                _off(ax)
            axes[base + s, 1].set_ylabel(f"{name}\nz{s + 1}" if s < n_samples else "truth", fontsize=8)
    fig.tight_layout()
    return fig


def plot_classification(
    results: Mapping[str, Mapping[str, np.ndarray]], counts: Sequence[int], chance: float, reference: np.ndarray | None = None
):  # fmt: skip
    """Fig. 4: accuracy against the number of contexts, for I, H and H+I contexts, per model; ``reference``
    (one accuracy per count) is the Bayes observer's from grasp contexts, drawn in black."""
    fig, ax = plt.subplots(figsize=(6.6, 3.4))
    if reference is not None:
        ax.plot(counts, reference, color="black", ls=(0, (1, 1.5)), marker="D", ms=5, mfc="white",
                label="Bayes observer H (knows the shapes)")  # fmt: skip
    for scheme, per_config in results.items():
        for config, acc in per_config.items():
            ls, marker = CONTEXT_STYLES.get(config, ("solid", "o"))
            filled = scheme != "baseline"  # APoE filled markers, the baseline open ones
            ax.plot(counts, acc, color=SCHEME_COLOURS.get(scheme), ls=ls, marker=marker, ms=6,
                    mfc=SCHEME_COLOURS.get(scheme) if filled else "white", label=f"{SCHEME_LABELS.get(scheme, scheme)} {config}")  # fmt: skip
    ax.axhline(chance, color="grey", lw=1.0, ls=(0, (1, 3)), label="chance")
    fig.set_size_inches(7.2, 3.6)
    ax.set_xlabel("number of contexts per modality")
    ax.set_xticks(list(counts))
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.03)  # room for a line at 1
    ax.legend(fontsize=8, handlelength=3.5, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.tight_layout()
    return fig


def plot_missing(histories: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]):
    """Fig. 5: per setting, -ELBO per dim on train-like (val_missing) and all (val_full) combinations."""
    fig, axes = plt.subplots(1, len(histories), figsize=(min(7.2, 3.6 * len(histories)), 3.2), squeeze=False)
    for ax, (setting, per_scheme) in zip(axes[0], histories.items(), strict=True):
        for scheme, hist in per_scheme.items():
            steps = np.asarray(hist["eval/step"])
            keep = steps > 0 if (steps > 0).sum() >= 2 else np.ones(len(steps), bool)  # step 0 would flatten the axis
            for key, ls in (("eval/val_missing", "dashed"), ("eval/val_full", "solid")):
                ax.plot(steps[keep], np.asarray(hist[key])[keep], color=SCHEME_COLOURS.get(scheme), ls=ls,
                        marker=SCHEME_MARKERS.get(scheme, "o"), ms=4, label=f"{SCHEME_LABELS.get(scheme, scheme)} {key.split('/')[1]}")  # fmt: skip
        ax.set_title(setting, fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("-ELBO per target dim (nats)")
        ax.legend(fontsize=8, handlelength=3)
    fig.tight_layout()
    return fig


def plot_gap(histories: Mapping[str, Mapping[str, Mapping[str, Sequence[float]]]]):
    """Fig. 5 judged: per setting, the generalisation gap (val_full - val_missing) along training, per model."""
    fig, axes = plt.subplots(1, len(histories), figsize=(min(7.2, 3.6 * len(histories)), 3.0), squeeze=False)
    for ax, (setting, per_scheme) in zip(axes[0], histories.items(), strict=True):
        for scheme, hist in per_scheme.items():
            steps = np.asarray(hist["eval/step"])
            gap = np.asarray(hist["eval/val_full"]) - np.asarray(hist["eval/val_missing"])
            keep = steps > 0
            ax.plot(steps[keep], gap[keep], color=SCHEME_COLOURS.get(scheme), marker=SCHEME_MARKERS.get(scheme, "o"), ms=4,
                    ls="dashed" if scheme == "baseline" else "solid", label=SCHEME_LABELS.get(scheme, scheme))  # fmt: skip
        ax.axhline(0.0, color="grey", lw=0.8, ls=(0, (1, 3)))
        ax.set_title(setting, fontsize=9)
        ax.set_xlabel("training step")
        ax.set_ylabel("gap: val_full − val_missing\n(nats per target dim)", fontsize=8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
