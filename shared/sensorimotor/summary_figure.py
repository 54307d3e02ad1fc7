"""The book's summary picture: a forest plot of every result claim, coloured by verdict.

:func:`plot_claims_overview` takes claim dicts (as stored in the reports' metadata, plus ``chapter``)
and saves a PNG sized for a 700 px book column; :func:`claims_to_plot` is the data behind it.

Every row is a schema-2 claim (``"schema": 2``, see :mod:`sensorimotor.book_rows`; any other is refused)
and all share one axis, ``(value - null) / (smallest_effect - null)``: 0 is what a trivial answer scores,
1 the smallest effect that counts as the paper's, so position and verdict colour tell the same story
(reproduced: the interval clear of 0 and the estimate at 1 or beyond). Each shows its estimate, its
interval, every seed/case/repeat as a dot and, where the paper gives a number, a tick at the paper's
effect; a claim not measured keeps its row, marked "not measured". Consistency checks (ours, not
the paper's) are left out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sensorimotor.atomic import atomic_path
from sensorimotor.book_rows import require_schema2, scale_position, shorten, unit_values
from sensorimotor.verdicts import COLOURS as VERDICT_COLOURS  # one palette for chapters, summary and picture

KINDS = ("result", "consistency")
REQUIRED_KEYS = ("chapter", "id", "paper", "ours", "verdict", "kind")

SCALE_MIN, SCALE_MAX = -1.0, 2.0  # positions outside are drawn at the edge with an arrow marker
FIG_WIDTH_IN = 7.0
DPI = 150
FONT_PT = 9
LABEL_CHARS = 40
ROW_IN = 0.22
TITLE = "Replication scale ({n} claims): 0 = a trivial answer, 1 = the smallest effect that counts"
LABEL_IN, RIGHT_IN = 3.0, 0.15


def _validate(row: Mapping[str, Any], index: int) -> None:
    if not isinstance(row, Mapping):
        raise ValueError(f"claim row {index} is a {type(row).__name__}, not a dict")
    require_schema2([row])
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
    values = row.get("per_unit")
    if values is not None and (isinstance(values, (str, bytes)) or not isinstance(values, Iterable)):
        raise ValueError(
            f"claim {row['id']!r}: per_unit must be a dict or list of values or None, got {values!r}"
        )


def _clipped(x: float | None, low: float, high: float) -> int:
    return 0 if x is None or low <= x <= high else (-1 if x < low else 1)


def _label(row: Mapping[str, Any]) -> str:
    statement = str(row.get("statement") or "").strip()
    return shorten(f"{row['id']}: {statement}" if statement else str(row["id"]), LABEL_CHARS)


def _point(row: Mapping[str, Any]) -> dict[str, Any]:
    """Where one result claim is drawn on the replication scale: position, interval and unit positions.

    ``x`` is None for a claim not measured (no estimate)."""
    x = scale_position(row, row["ours"])
    interval = row.get("interval") or [None, None]
    ends = [scale_position(row, v) for v in interval[:2]] if len(interval) >= 2 else [None, None]
    units = [scale_position(row, v) for v in unit_values(row)]
    return {"x": x, "units": [u for u in units if u is not None],
            "interval": tuple(ends) if None not in ends else None,
            "paper": scale_position(row, row.get("paper_effect")),
            "clipped": _clipped(x, SCALE_MIN, SCALE_MAX)}  # fmt: skip


def claims_to_plot(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The result claims the picture shows, in drawing order (chapters in order of first appearance).

    Every row is checked first (a row not of schema 2, a bad verdict or kind raises :class:`ValueError`
    naming it). Each returned dict has ``chapter``, ``id``, ``label``, ``verdict``, ``x`` (the position
    on the replication scale, None when not measured), ``interval`` (low, high or None), ``units`` (each
    seed/case/repeat placed on the same axis), ``paper`` (the paper's effect's position or None) and
    ``clipped`` (-1, 0 or +1: beyond the axis or within).
    """
    for i, row in enumerate(rows):
        _validate(row, i)
    by_chapter: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["kind"] != "result":
            continue
        item = {
            "chapter": str(row["chapter"]),
            "id": str(row["id"]),
            "label": _label(row),
            "verdict": row["verdict"],
        }
        by_chapter.setdefault(item["chapter"], []).append({**item, **_point(row)})
    return [item for chapter_rows in by_chapter.values() for item in chapter_rows]


def _layout(items: list[dict[str, Any]]) -> tuple[list[tuple[float, str, bool]], list[float], list[float]]:
    """Y positions: (y, label, is_heading) ticks, separator ys, and each item's y."""
    ticks: list[tuple[float, str, bool]] = []
    separators: list[float] = []
    ys: list[float] = []
    y, chapter = 0.0, None
    for item in items:
        if item["chapter"] != chapter:
            if chapter is not None:
                separators.append(y - 0.1)
                y += 0.3
            chapter = item["chapter"]
            ticks.append((y, chapter, True))
            y += 1.0
        ticks.append((y, item["label"], False))
        ys.append(y)
        y += 1.0
    return ticks, separators, ys


def plot_claims_overview(rows: list[dict], path: Path) -> Path:
    """Save the forest plot of all result claims in ``rows`` as a PNG at ``path`` (written atomically)."""
    import matplotlib.pyplot as plt

    plotted = claims_to_plot(rows)
    path = Path(path)
    sizes = (
        "font.size",
        "axes.titlesize",
        "axes.labelsize",
        "xtick.labelsize",
        "ytick.labelsize",
        "legend.fontsize",
    )
    with plt.rc_context({key: FONT_PT for key in sizes}):
        if not plotted:
            fig = plt.figure(figsize=(FIG_WIDTH_IN, 1.5))
            fig.text(0.5, 0.5, "no result claims to show", ha="center", va="center")
        else:
            fig = _draw(plt, plotted)
        try:
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format="png", dpi=DPI)
        finally:
            plt.close(fig)
    return path


def _panel_height(items: list[dict[str, Any]]) -> float:
    ticks, _, _ = _layout(items)
    return ROW_IN * (ticks[-1][0] + 1.2)


def _draw(plt: Any, plotted: list[dict[str, Any]]) -> Any:
    legend_in, title_in, axis_in = 0.62, 0.4, 0.5
    panel_in = _panel_height(plotted)
    height = legend_in + title_in + panel_in + axis_in
    fig = plt.figure(figsize=(FIG_WIDTH_IN, height))
    _draw_panel(fig, plotted, (height - legend_in - title_in - panel_in, panel_in), height)
    _legend(fig, height)
    return fig


def _axes(fig: Any, left_in: float, width_in: float, box: tuple[float, float], height: float) -> Any:
    bottom, h = box
    return fig.add_axes((left_in / FIG_WIDTH_IN, bottom / height, width_in / FIG_WIDTH_IN, h / height))


def _draw_panel(fig: Any, items: list[dict[str, Any]], box: tuple[float, float], height: float) -> None:
    ticks, separators, ys = _layout(items)
    span = ticks[-1][0] + 1.0
    main = _axes(fig, LABEL_IN, FIG_WIDTH_IN - LABEL_IN - RIGHT_IN, box, height)
    main.set_ylim(span - 0.4, -0.8)
    main.tick_params(axis="y", length=0)
    for y in separators:
        main.axhline(y, color="#9e9e9e", lw=0.6)
    main.set_yticks([t[0] for t in ticks])
    main.set_yticklabels([t[1] for t in ticks])
    for label, (_, _, heading) in zip(main.get_yticklabels(), ticks, strict=True):
        if heading:
            label.set_fontweight("bold")
    _decorate(main)
    title = TITLE.format(n=len(items))
    fig.text(0.1 / FIG_WIDTH_IN, (box[0] + box[1] + 0.38) / height, title, fontweight="bold", va="top")
    for item, y in zip(items, ys, strict=True):
        _draw_row(main, item, y)


def _decorate(main: Any) -> None:
    main.grid(axis="x", which="major", color="#eeeeee", lw=0.6, zorder=0)
    ink = "#424242"
    main.set_xlim(SCALE_MIN - 0.1, SCALE_MAX + 0.1)
    for x, name in ((0.0, "null"), (1.0, "smallest effect")):
        main.axvline(x, color=ink, lw=0.9, ls="--" if x else ":", zorder=1)
        main.text(x, -0.8, name, va="bottom", ha="center", color=ink, fontsize=FONT_PT - 1)
    main.set_xlabel(f"(value − null) / (smallest effect − null), clipped to [{SCALE_MIN:g}, {SCALE_MAX:g}]")


def _draw_row(ax: Any, item: dict[str, Any], y: float) -> None:
    def clip(x: float) -> float:
        return min(max(x, SCALE_MIN), SCALE_MAX)

    colour = VERDICT_COLOURS[item["verdict"]]
    if item["x"] is None:  # not measured: the row keeps its label, with no position to mark
        ax.text(SCALE_MIN, y, "not measured", va="center", ha="left", color=colour, fontsize=FONT_PT - 1)
        return
    units = [clip(u) for u in item["units"]]
    ends = (
        [clip(e) for e in item["interval"]]
        if item["interval"]
        else ([min(units), max(units)] if len(units) > 1 else None)
    )
    if ends:
        ax.hlines(y, ends[0], ends[1], color=colour, lw=1.8, alpha=0.6, zorder=2)
    if units:
        ax.scatter(units, [y] * len(units), s=8, color=colour, alpha=0.85, linewidth=0, zorder=3)
    if item.get("paper") is not None and math.isfinite(item["paper"]):
        ax.scatter([clip(item["paper"])], [y], s=40, marker="|", color="#212121", linewidth=1.0, zorder=3)
    marker = {0: "o", -1: "<", 1: ">"}[item["clipped"]]
    ax.scatter(
        [clip(item["x"])], [y], s=38, marker=marker, color=colour, edgecolor="black", linewidth=0.4, zorder=4
    )


def _legend(fig: Any, height: float) -> None:
    from matplotlib.lines import Line2D

    def dot(colour: str, label: str, marker: str = "o", size: float = 6) -> Line2D:
        return Line2D([], [], ls="", marker=marker, markersize=size, color=colour, markeredgecolor="black",
                      markeredgewidth=0.4, label=label)  # fmt: skip

    verdicts = [dot(c, v) for v, c in VERDICT_COLOURS.items()]
    fig.legend(handles=verdicts, loc="upper center", ncol=len(verdicts), frameon=False, bbox_to_anchor=(0.5, 1.0),
               handletextpad=0.2, columnspacing=1.2)  # fmt: skip
    grey = "#616161"
    marks = [
        Line2D([], [], ls="", marker="o", markersize=2.5, color=grey, label="one seed / case"),
        Line2D([], [], lw=1.8, alpha=0.6, color=grey, label="interval (else range of seeds)"),
        Line2D([], [], ls="", marker="|", markersize=6, color="#212121", label="paper's effect"),
        dot(grey, "beyond the axis", marker=">"),
    ]
    fig.legend(handles=marks, loc="upper center", ncol=len(marks), frameon=False,
               bbox_to_anchor=(0.5, 1.0 - 0.27 / height), handletextpad=0.3, columnspacing=1.2)  # fmt: skip
