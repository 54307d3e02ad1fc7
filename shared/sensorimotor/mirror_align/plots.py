"""Figures and tables of the mirror-alignment chapter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sensorimotor.mirror_align.keyframes import STOP


def task_gallery(arrays: Mapping[str, np.ndarray], frames: int = 4):
    """One episode per task: observer video frames, then the robot's own view at the first key-frame and
    at a middle one, with the key-frame the expert chose there (white ring)."""
    names = [str(t) for t in arrays["task_names"]]
    fig, axes = plt.subplots(len(names), frames + 2, figsize=(1.25 * (frames + 2), 1.3 * len(names)))
    axes = np.atleast_2d(axes)
    video_idx = np.linspace(0, arrays["videos"].shape[1] - 1, frames).round().astype(int)
    for row, _ in enumerate(names):
        episode = int(np.flatnonzero(arrays["task"] == row)[0])
        for col, f in enumerate(video_idx):
            axes[row, col].imshow(arrays["videos"][episode, f])
        middle = int(arrays["key_valid"][episode].sum()) // 2
        for col, k in ((frames, 0), (frames + 1, middle)):
            axes[row, col].imshow(arrays["key_obs"][episode, k])
            if arrays["key_height"][episode, k] != STOP:  # mark where the next key-frame is
                c, r = arrays["key_pixel"][episode, k] - 0.5
                axes[row, col].plot(c, r, "o", mfc="none", mec="white", ms=7, mew=1.2)
        text = str(arrays["instruction_texts"][arrays["instruction"][episode]])
        axes[row, 0].set_title(f'"{text}"', fontsize=8, loc="left")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1, frames].set_xlabel("robot, key-frame 1", fontsize=8)
    axes[-1, frames + 1].set_xlabel("robot, mid key-frame", fontsize=8)
    for col in range(frames):
        axes[-1, col].set_xlabel(f"video frame {video_idx[col] + 1}", fontsize=8)
    fig.suptitle("observer video (U's input) | robot's own camera (E's input)", fontsize=9)
    fig.tight_layout()
    return fig


def success_by_task(success: Mapping[str, np.ndarray], tasks: Sequence[str]):
    """Closed-loop success per task (rows of ``success[name]``: seeds x tasks, fractions), one bar group per task."""
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    x = np.arange(len(tasks))
    width = 0.8 / len(success)
    styles = [("tab:gray", ""), ("tab:blue", "//"), ("tab:green", "..")]
    for i, (name, values) in enumerate(success.items()):
        values = 100 * np.atleast_2d(values)
        colour, hatch = styles[i % len(styles)]
        ax.bar(x + (i - (len(success) - 1) / 2) * width, values.mean(0), width, yerr=values.std(0) if len(values) > 1 else None,
               color=colour, hatch=hatch, edgecolor="white", capsize=2, label=name)  # fmt: skip
    ax.axhline(50, color="k", ls="--", lw=0.8, label="prerequisite bar (50 %)")
    ax.set_xticks(x, tasks, rotation=30, ha="right", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("success (%)", fontsize=8)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def _smooth(values: np.ndarray, window: int = 25) -> np.ndarray:
    values = np.asarray(values, float)
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def training_curves(history: Mapping[str, np.ndarray], title: str, labels: Sequence | None = None):
    """The smoothed losses that were trained (a loss with no values, e.g. L_align when off, gets no panel);
    a 2-D entry (runs, steps) draws one line per run, labelled "seed {labels[i]}" (default: 0, 1, ...: the
    seeds' own numbers, as the chapter's tables give them)."""
    losses = [(key, label) for key, label in (("au", "L_AU (video-text)"), ("ee", "L_EE (behaviour cloning)"),
                                              ("align", "L_align")) if np.asarray(history.get(key, [])).size]  # fmt: skip
    fig, axes = plt.subplots(1, len(losses), figsize=(2.5 * len(losses) + 1, 2.4), squeeze=False)
    for ax, (key, label) in zip(axes[0], losses, strict=True):
        runs = np.atleast_2d(np.asarray(history[key], float))
        for i, values in enumerate(runs):
            name = labels[i] if labels is not None else i
            ax.plot(_smooth(values), lw=1, label=f"seed {name}" if len(runs) > 1 else None)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("step", fontsize=8)
    if len(np.atleast_2d(np.asarray(history[losses[0][0]]))) > 1:
        axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def similarity_by_outcome(similarity: np.ndarray, success: np.ndarray):
    fig, ax = plt.subplots(figsize=(5, 2.8))
    success = np.asarray(success, bool)
    bins = np.linspace(min(similarity.min(), 0), 1, 21)
    for mask, label, colour, hatch in ((success, "successful", "tab:green", ""), (~success, "failed", "tab:red", "//")):
        if mask.any():
            ax.hist(similarity[mask], bins=bins, alpha=0.6, label=f"{label} (n={mask.sum()})", color=colour,
                    hatch=hatch, edgecolor="white")  # fmt: skip
        else:  # say in the legend that this outcome never occurred
            ax.hist(np.empty(0), bins=bins, alpha=0.6, color=colour, hatch=hatch, edgecolor="white",
                    label=f"{label} (n=0: none to plot)")  # fmt: skip
    ax.set_xlabel("cosine similarity of U(video) and E(execution), probe space")
    ax.set_ylabel("episodes")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def per_task_table(per_task: Mapping[bool, np.ndarray], tasks: Sequence[str],
                   overall: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Per-task means over seeds (percent): recognition and success, baseline vs aligned. The last row is
    ``overall`` (column -> value: the means over all held-out videos / episodes, as the claims average)
    when given, else the mean over tasks (labelled so)."""
    rows = {}
    for column, name in ((0, "AU acc"), (1, "EE success")):
        for align, label in ((False, "baseline"), (True, "aligned")):
            rows[f"{name} {label}"] = 100 * np.nanmean(per_task[align][:, column], axis=0)
    table = pd.DataFrame(rows, index=list(tasks))
    if overall is not None:
        table.loc["all videos / episodes"] = [overall[c] for c in table.columns]
    else:
        table.loc["mean over tasks"] = table.mean()
    return table.round(1)


def any_success(values: np.ndarray) -> bool:
    """Whether any closed-loop success was measured (an all-zero success panel is not drawn)."""
    values = np.asarray(values, float)
    return bool(np.nansum(values) > 0)


def per_task_bars(per_task: Mapping[bool, np.ndarray], tasks: Sequence[str]):
    """Per-task recognition (top) and, when any E succeeded, closed-loop success (bottom), one row each."""
    columns = [(0, "action recognition (held-out videos)")]
    if any_success(np.concatenate([per_task[a][:, 1] for a in per_task])):
        columns.append((1, "closed-loop success (held-out layouts)"))
    fig, axes = plt.subplots(len(columns), 1, figsize=(7.5, 2.9 * len(columns)), squeeze=False)
    x = np.arange(len(tasks))
    for ax, (column, title) in zip(axes[:, 0], columns, strict=True):
        for shift, align, colour, hatch in ((-0.2, False, "tab:gray", ""), (0.2, True, "tab:blue", "//")):
            values = 100 * per_task[align][:, column]  # (seeds, tasks)
            ax.bar(x + shift, np.nanmean(values, 0), 0.4, yerr=np.nanstd(values, 0), color=colour, hatch=hatch,
                   edgecolor="white", label="aligned" if align else "baseline (no alignment)", capsize=2)  # fmt: skip
        ax.set_xticks(x, tasks, rotation=30, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 105)
        ax.set_ylabel("% (mean ± sd\nover seeds)", fontsize=8)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def _setting_name(level: str, tau: float) -> str:
    return f"by {level}, tau={tau:g}"


def ablation_table(ablation: Mapping[tuple[str, float], np.ndarray], paper: Mapping[tuple[str, float], tuple]) -> pd.DataFrame:
    rows = []
    for (level, tau), values in ablation.items():
        paper_au, paper_ee = paper.get((level, round(tau, 4)), (np.nan, np.nan))  # NaN: not measured / not given
        rows.append({
            "setting": _setting_name(level, tau), "AU ours": values[:, 0].mean(), "AU sd": values[:, 0].std(),
            "AU paper": paper_au, "EE ours": values[:, 1].mean(), "EE sd": values[:, 1].std(), "EE paper": paper_ee,
            "seeds": len(values),
        })  # fmt: skip
    table = pd.DataFrame(rows).set_index("setting").round(1).astype(object)
    return table.where(table.notna(), "—")  # a value not measured (or not in the paper)


def ablation_bars(ablation: Mapping[tuple[str, float], np.ndarray], paper: Mapping[tuple[str, float], tuple]):
    """Recognition (and, when any E succeeded, success) per ablation setting, one row each, with the paper's."""
    columns = [(0, "action recognition (%)")]
    if any_success(np.concatenate([v[:, 1] for v in ablation.values()])):
        columns.append((1, "success rate (%)"))
    fig, axes = plt.subplots(len(columns), 1, figsize=(7.5, 3.0 * len(columns)), squeeze=False)
    names = [_setting_name(*k) for k in ablation]
    x = np.arange(len(names))
    for ax, (column, title) in zip(axes[:, 0], columns, strict=True):
        values = [v[:, column] for v in ablation.values()]
        measured = [i for i, v in enumerate(values) if np.isfinite(v).all()]  # a setting not measured: no bar
        ax.bar(x[measured], [values[i].mean() for i in measured], yerr=[values[i].std() for i in measured],
               color="tab:blue", capsize=3, label="ours (mean ± sd)")  # fmt: skip
        for i, k in enumerate(ablation):
            for j, v in enumerate(values[i]):
                ax.plot(i + 0.08 * (j - (len(values[i]) - 1) / 2), v, "k.", ms=4,
                        label="ours, one seed" if i == 0 and j == 0 else None)  # fmt: skip
            if k in paper:
                ax.plot(i, paper[k][column], "r_", ms=18, mew=2, label="paper" if i == 0 else None)
        ax.set_xticks(x, names, rotation=20, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylim(0, 100)
    axes[-1, 0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


def tsne_pair(baseline: Mapping, aligned: Mapping, instruction: np.ndarray, task: np.ndarray,
              task_names: Sequence[str], perplexity: float, seed: int):  # fmt: skip
    """t-SNE of held-out u (circles) and e (crosses) in the shared space, without and with alignment."""
    from sklearn.manifold import TSNE

    fig, axes = plt.subplots(1, 2, figsize=(7.5, 4.4))
    cmap = plt.get_cmap("tab10")
    n = len(instruction)
    for ax, run, title in ((axes[0], baseline, "without alignment (probe)"), (axes[1], aligned, "with alignment")):
        z = np.concatenate([run["z_u"], run["z_e"]])
        perp = float(min(perplexity, (len(z) - 1) / 3))
        xy = TSNE(2, perplexity=perp, init="pca", random_state=seed, metric="cosine").fit_transform(z)
        for i in range(n):
            colour = cmap(int(task[i]) % 10)
            shade = 0.45 + 0.55 * ((int(instruction[i]) % 4) / 3)
            c = tuple(shade * v for v in colour[:3])
            ax.scatter(*xy[i], color=c, marker="o", s=18)
            ax.scatter(*xy[n + i], color=c, marker="x", s=18)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], color=cmap(i % 10), marker="s", ls="", label=name) for i, name in enumerate(task_names)]
    handles += [plt.Line2D([], [], color="k", marker="o", ls="", label="U: video"),
                plt.Line2D([], [], color="k", marker="x", ls="", label="E: execution")]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.17, 1, 1))
    return fig
