"""One picture of every claim of the book: our value over the paper's, coloured by verdict.

:func:`plot_claims_overview` takes claim dicts (as stored in the reports' metadata, plus ``chapter``,
``per_seed`` and ``kind``) and saves a PNG sized for a 700 px book column. Each *result* claim is one
row, grouped by chapter; consistency checks (true by construction) are left out. Where the paper's
value and ours are numbers of the same sign, the row shows ``ours / paper`` on a log axis (1 = the
paper's value), with every seed as a dot and the seeds' range as a line; other claims (a qualitative
paper value, a yes/no, a claim not run) get a marker in a narrow column on the left, so that every
claim appears. :func:`claims_to_plot` is the data behind the picture.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sensorimotor.cache import atomic_path
from sensorimotor.claims import VERDICT_COLOURS  # one palette for chapters, summary and picture

KINDS = ("result", "consistency")
REQUIRED_KEYS = ("chapter", "id", "paper", "ours", "verdict", "kind")

RATIO_MIN, RATIO_MAX = 1e-2, 1e2  # ratios outside are drawn at the edge with an arrow marker
FIG_WIDTH_IN = 7.0
DPI = 150
FONT_PT = 8


def _real(value: Any) -> float | None:
    """``value`` as a finite float if it is a real number (not a bool), else None."""
    if value is None or isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if not isinstance(value, numbers.Real):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def ratio(ours: Any, paper: Any) -> float | None:
    """``ours / paper`` when both are finite numbers of the same sign and ``paper != 0``, else None.

    ``ours == 0`` gives 0 (drawn clipped at the left edge): a measured zero against a non-zero paper
    value is a number worth placing, not a missing one.
    """
    p, o = _real(paper), _real(ours)
    if p is None or o is None or p == 0:
        return None
    if o == 0:
        return 0.0
    if (o > 0) != (p > 0):
        return None
    return o / p


def _validate(row: Mapping[str, Any], index: int) -> None:
    if not isinstance(row, Mapping):
        raise ValueError(f"claim row {index} is a {type(row).__name__}, not a dict")
    missing = [k for k in REQUIRED_KEYS if k not in row]
    if missing:
        raise ValueError(f"claim row {index} ({row.get('id', '?')!r}) lacks {', '.join(missing)}")
    if row["verdict"] not in VERDICT_COLOURS:
        raise ValueError(
            f"claim {row['id']!r} has unknown verdict {row['verdict']!r}; expected one of {', '.join(VERDICT_COLOURS)}"
        )
    if row["kind"] not in KINDS:
        raise ValueError(
            f"claim {row['id']!r} has unknown kind {row['kind']!r}; expected one of {', '.join(KINDS)}"
        )
    seeds = row.get("per_seed")
    if seeds is not None and (isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable)):
        raise ValueError(f"claim {row['id']!r}: per_seed must be a list of numbers or None, got {seeds!r}")


def claims_to_plot(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The rows the picture shows, in drawing order (chapters in order of first appearance).

    Every row is checked first (a bad verdict or kind raises :class:`ValueError` naming it); only
    ``kind == "result"`` rows are kept. Each returned dict has ``chapter``, ``id``, ``verdict``,
    ``ratio`` (None: no numeric ratio, drawn in the left column), ``seed_ratios`` (the seeds that
    have one) and ``clipped`` (-1, 0 or +1: the ratio lies below, within or above the axis).
    """
    for i, row in enumerate(rows):
        _validate(row, i)
    by_chapter: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["kind"] != "result":
            continue
        r = ratio(row["ours"], row["paper"])
        seeds = [ratio(s, row["paper"]) for s in (row.get("per_seed") or [])]
        seeds = [s for s in seeds if s is not None] if r is not None else []
        clipped = 0 if r is None or RATIO_MIN <= r <= RATIO_MAX else (-1 if r < RATIO_MIN else 1)
        by_chapter.setdefault(str(row["chapter"]), []).append(
            {
                "chapter": str(row["chapter"]),
                "id": str(row["id"]),
                "verdict": row["verdict"],
                "ratio": r,
                "seed_ratios": seeds,
                "clipped": clipped,
            }
        )
    return [item for chapter_rows in by_chapter.values() for item in chapter_rows]


def _clip(x: float) -> float:
    return min(max(x, RATIO_MIN), RATIO_MAX)


def _layout(
    plotted: list[dict[str, Any]],
) -> tuple[list[tuple[float, str, bool]], list[float], dict[int, float]]:
    """Y positions: (y, label, is_heading) ticks, separator ys, and each plotted row's y."""
    ticks: list[tuple[float, str, bool]] = []
    separators: list[float] = []
    row_y: dict[int, float] = {}
    y = 0.0
    chapter = None
    for i, item in enumerate(plotted):
        if item["chapter"] != chapter:
            if chapter is not None:
                separators.append(y - 0.1)
                y += 0.3
            chapter = item["chapter"]
            ticks.append((y, chapter, True))
            y += 1.0
        ticks.append((y, item["id"], False))
        row_y[i] = y
        y += 1.0
    return ticks, separators, row_y


def plot_claims_overview(rows: list[dict], path: Path) -> Path:
    """Save the overview of all result claims in ``rows`` as a PNG at ``path`` (written atomically)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    plotted = claims_to_plot(rows)
    path = Path(path)
    with plt.rc_context(
        {
            "font.size": FONT_PT,
            "axes.titlesize": FONT_PT,
            "axes.labelsize": FONT_PT,
            "xtick.labelsize": FONT_PT,
            "ytick.labelsize": FONT_PT,
            "legend.fontsize": FONT_PT,
        }
    ):
        if not plotted:
            fig = plt.figure(figsize=(FIG_WIDTH_IN, 1.5))
            fig.text(0.5, 0.5, "no result claims to show", ha="center", va="center")
        else:
            fig = _draw(plt, Line2D, plotted)
        try:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=DPI)
        finally:
            plt.close(fig)
    return path


def _draw(plt, Line2D, plotted: list[dict[str, Any]]):
    ticks, separators, row_y = _layout(plotted)
    span = ticks[-1][0] + 1.0
    legend_in, axis_in = 0.75, 0.55
    height = legend_in + axis_in + 0.19 * span
    fig, (left, main) = plt.subplots(
        1,
        2,
        sharey=True,
        figsize=(FIG_WIDTH_IN, height),
        gridspec_kw={"width_ratios": [1, 5.5], "wspace": 0.04},
    )
    fig.subplots_adjust(left=0.25, right=0.97, top=1 - legend_in / height, bottom=axis_in / height)

    for ax in (left, main):
        ax.set_ylim(span - 0.4, -0.8)
        for y in separators:
            ax.axhline(y, color="#9e9e9e", lw=0.6)
    main.set_xscale("log")
    main.set_xlim(RATIO_MIN / 2, RATIO_MAX * 2)
    main.axvline(1.0, color="#424242", lw=0.9, ls="--", zorder=1)
    main.text(1.0, -0.8, " paper's value", va="bottom", ha="center", color="#424242", clip_on=False)
    main.set_xlabel("ours / paper's value (log scale; clipped to [0.01, 100])")
    main.grid(axis="x", which="major", color="#eeeeee", lw=0.6, zorder=0)
    main.tick_params(axis="y", length=0)
    left.set_xlim(0, 1)
    left.set_xticks([])
    left.set_xlabel("no numeric\npaper value")

    left.set_yticks([t[0] for t in ticks])
    left.set_yticklabels([t[1] for t in ticks])
    for label, (_, _, heading) in zip(left.get_yticklabels(), ticks, strict=True):
        if heading:
            label.set_fontweight("bold")
    left.tick_params(axis="y", length=0)

    for i, item in enumerate(plotted):
        y = row_y[i]
        colour = VERDICT_COLOURS[item["verdict"]]
        if item["ratio"] is None:
            left.scatter([0.5], [y], s=36, color=colour, edgecolor="black", linewidth=0.4, zorder=3)
            continue
        seeds = [_clip(s) for s in item["seed_ratios"]]
        if len(seeds) > 1:
            main.hlines(y, min(seeds), max(seeds), color=colour, lw=1.6, alpha=0.55, zorder=2)
        if seeds:
            main.scatter(seeds, [y] * len(seeds), s=7, color=colour, alpha=0.8, linewidth=0, zorder=3)
        marker = {0: "o", -1: "<", 1: ">"}[item["clipped"]]
        main.scatter(
            [_clip(item["ratio"])],
            [y],
            s=40,
            marker=marker,
            color=colour,
            edgecolor="black",
            linewidth=0.4,
            zorder=4,
        )

    verdict_handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            markersize=6,
            color=c,
            markeredgecolor="black",
            markeredgewidth=0.4,
            label=v,
        )
        for v, c in VERDICT_COLOURS.items()
    ]
    fig.legend(
        handles=verdict_handles,
        loc="upper center",
        ncol=len(verdict_handles),
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
        handletextpad=0.2,
        columnspacing=1.2,
    )
    grey = "#616161"
    mark_handles = [
        Line2D([], [], ls="", marker="o", markersize=2.5, color=grey, label="one seed"),
        Line2D([], [], lw=1.6, alpha=0.55, color=grey, label="range over seeds"),
        Line2D(
            [],
            [],
            ls="",
            marker=">",
            markersize=6,
            color=grey,
            markeredgecolor="black",
            markeredgewidth=0.4,
            label="beyond the axis",
        ),
    ]
    fig.legend(
        handles=mark_handles,
        loc="upper center",
        ncol=3,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0 - 0.26 / fig.get_figheight()),
        handletextpad=0.3,
        columnspacing=1.5,
    )
    return fig
