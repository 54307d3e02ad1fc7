"""The summary picture: a forest plot of all claims (sensorimotor.summary_figure)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sensorimotor.summary_figure import (
    DPI,
    FIG_WIDTH_IN,
    LABEL_CHARS,
    SCALE_MAX,
    SCALE_MIN,
    VERDICT_COLOURS,
    claims_to_plot,
    plot_claims_overview,
)


def _row(chapter, id_, ours, verdict, kind="result", per_unit=None, null=0.5, smallest=0.6, paper_effect=0.9,
         interval=None, **extra):  # fmt: skip
    """A schema-2 row on the replication scale, as the chapters write them (plus ``chapter``)."""
    return {"schema": 2, "chapter": chapter, "id": id_, "paper": "0.9 (Table 1)", "ours": ours, "verdict": verdict,
            "kind": kind, "null": null, "smallest_effect": smallest, "paper_effect": paper_effect,
            "interval": None if interval is None else list(interval), "level": 0.9, "unit": "cases",
            "per_unit": per_unit, "cause": None, **extra}  # fmt: skip


ROWS = [
    _row("dmbn", "dmbn-number", 0.55, "partly", per_unit=[0.5, 0.55, 0.6], interval=(0.52, 0.58)),
    _row("dmbn", "dmbn-params", 4, "reproduced", kind="consistency"),
    _row("gmn", "gmn-s2-reproduced", 0.7, "reproduced", per_unit={"a": 0.6, "b": 0.7, "c": 0.8}, interval=(0.6, 0.8),
         statement="APoE classifies scenes more accurately than the baseline"),  # fmt: skip
    _row("gmn", "gmn-s2-beyond", 2.5, "reproduced", per_unit={"a": 2.5}, interval=(2.0, 3.0)),
    _row("gmn", "gmn-below", -1.0, "not reproduced", per_unit=[-1.0, -1.0]),
    _row("gmn", "gmn-no-paper-effect", 0.7, "inconclusive", per_unit={"a": 0.7}, paper_effect=None,
         cause="underpowered: 1 case measured"),  # fmt: skip
    _row("mirror", "mirror-none", None, "not run"),
    _row("mirror", "mirror-count", 1200, "reproduced", kind="consistency"),
    _row("som", "som-negative", -0.5, "partly", per_unit=[-0.5, -1.0, "n/a"], null=0.0, smallest=-1.0,
         paper_effect=-2.0),  # fmt: skip
]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_claims_to_plot_keeps_result_claims_in_chapter_order():
    plotted = claims_to_plot(ROWS)
    ids = [p["id"] for p in plotted]
    assert "dmbn-params" not in ids and "mirror-count" not in ids
    assert ids == [r["id"] for r in ROWS if r["kind"] == "result"]
    by_id = {p["id"]: p for p in plotted}
    assert by_id["dmbn-number"]["x"] == pytest.approx(0.5)
    assert by_id["dmbn-number"]["units"] == pytest.approx([0.0, 0.5, 1.0])
    assert by_id["gmn-below"]["clipped"] == -1 and by_id["gmn-s2-beyond"]["clipped"] == 1
    assert by_id["som-negative"]["units"] == pytest.approx([0.5, 1.0])  # the text value is dropped
    assert by_id["mirror-none"]["x"] is None and by_id["mirror-none"]["units"] == []  # not measured


def test_rows_sit_on_the_replication_scale():
    plotted = {p["id"]: p for p in claims_to_plot(ROWS)}
    item = plotted["gmn-s2-reproduced"]
    assert item["x"] == pytest.approx(2.0)  # (0.7 - 0.5) / (0.6 - 0.5): in units of the smallest effect
    assert item["interval"] == pytest.approx((1.0, 3.0))
    assert item["units"] == pytest.approx([1.0, 2.0, 3.0])
    assert item["paper"] == pytest.approx(4.0)  # the paper's effect, (0.9 - 0.5) / 0.1
    assert plotted["gmn-s2-beyond"]["x"] == pytest.approx(20.0) and plotted["gmn-s2-beyond"]["clipped"] == 1
    # no paper number: still on the scale (its smallest effect is declared), without the paper's tick
    assert plotted["gmn-no-paper-effect"]["x"] == pytest.approx(2.0) and plotted["gmn-no-paper-effect"]["paper"] is None
    assert plotted["gmn-below"]["interval"] is None  # no interval stored
    assert (SCALE_MIN, SCALE_MAX) == (-1.0, 2.0)


def test_labels_carry_the_statement_and_stay_short():
    plotted = {p["id"]: p for p in claims_to_plot(ROWS)}
    label = plotted["gmn-s2-reproduced"]["label"]
    assert label.startswith("gmn-s2-reproduced: APoE classifies")
    assert len(label) <= LABEL_CHARS and label.endswith("…")
    assert plotted["dmbn-number"]["label"] == "dmbn-number"  # no statement: the id alone


def test_plot_claims_overview_writes_a_legible_png(tmp_path):
    target = tmp_path / "figures" / "claims_overview.png"
    assert plot_claims_overview(ROWS, target) == target
    width, height = _png_size(target)
    assert abs(width - FIG_WIDTH_IN * DPI) <= 2  # 7 in at 150 dpi: about a 700 px book column at 1.5x
    assert 300 < height < 3000
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind


def test_every_verdict_has_its_colour():
    assert VERDICT_COLOURS == {
        "reproduced": "#2e7d32",
        "partly": "#ef6c00",
        "not reproduced": "#c62828",
        "inconclusive": "#6a1b9a",
        "not run": "#616161",
    }
    assert {r["verdict"] for r in ROWS} == set(VERDICT_COLOURS)


def test_no_result_claims_still_writes_a_picture(tmp_path):
    target = plot_claims_overview([r for r in ROWS if r["kind"] == "consistency"], tmp_path / "empty.png")
    assert _png_size(target)[0] > 0


def test_unknown_verdict_is_refused_by_name(tmp_path):
    bad = [*ROWS, _row("gmn", "gmn-bad", 1.0, "sort of")]
    with pytest.raises(ValueError, match="sort of"):
        plot_claims_overview(bad, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
    with pytest.raises(ValueError, match="sideways"):
        claims_to_plot([_row("gmn", "gmn-kind", 1.0, "reproduced", kind="sideways")])
    with pytest.raises(ValueError, match="verdict"):
        claims_to_plot([{"schema": 2, "chapter": "gmn", "id": "x", "paper": 1, "ours": 1, "kind": "result"}])
    with pytest.raises(ValueError, match="per_unit must be"):
        claims_to_plot([_row("gmn", "gmn-text", 1.0, "reproduced", per_unit="0.6, 0.7")])


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def half_written(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_claims_overview(ROWS, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
