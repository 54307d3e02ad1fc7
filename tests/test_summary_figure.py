"""The overview picture of all claims (sensorimotor.summary_figure)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sensorimotor.summary_figure import (
    DPI,
    FIG_WIDTH_IN,
    RATIO_MAX,
    RATIO_MIN,
    VERDICT_COLOURS,
    claims_to_plot,
    plot_claims_overview,
    ratio,
)


def _row(chapter, id_, paper, ours, verdict, kind="result", per_seed=None):
    return {
        "chapter": chapter,
        "id": id_,
        "paper": paper,
        "ours": ours,
        "per_seed": per_seed,
        "verdict": verdict,
        "kind": kind,
    }


ROWS = [
    _row("dmbn", "dmbn-number", 0.5, 0.55, "reproduced", per_seed=[0.5, 0.55, 0.6]),
    _row("dmbn", "dmbn-qualitative", "accurate (qualitative)", 0.65, "partly"),
    _row("dmbn", "dmbn-params", 4, 4, "reproduced", kind="consistency"),
    _row("gmn", "gmn-huge", 0.01, 50.0, "not reproduced", per_seed=[10.0, 50.0, 90.0]),
    _row("gmn", "gmn-zero", 0.9, 0.0, "not reproduced", per_seed=[0.0, 0.0]),
    _row("gmn", "gmn-sign", 0.3, -0.02, "inconclusive"),
    _row("gmn", "gmn-paper-zero", 0.0, 0.03, "reproduced"),
    _row("mirror", "mirror-bool", "yes", True, "reproduced"),
    _row("mirror", "mirror-none", 3.5, None, "not run"),
    _row("mirror", "mirror-count", 1200, 1200, "reproduced", kind="consistency"),
    _row("som", "som-negative", -2.0, -1.0, "partly", per_seed=[-0.5, -1.0, "n/a"]),
]


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_ratio_rules():
    assert ratio(2.0, 4.0) == 0.5
    assert ratio(-1.0, -2.0) == 0.5
    assert ratio(0.0, 0.9) == 0.0
    assert ratio(-0.1, 0.3) is None  # opposite signs
    assert ratio(1.0, 0.0) is None  # paper's value zero
    assert ratio(True, 1.0) is None and ratio(1.0, "yes") is None and ratio(None, 1.0) is None
    assert ratio(float("nan"), 1.0) is None and ratio(1.0, float("inf")) is None


def test_claims_to_plot_keeps_result_claims_in_chapter_order():
    plotted = claims_to_plot(ROWS)
    ids = [p["id"] for p in plotted]
    assert "dmbn-params" not in ids and "mirror-count" not in ids
    assert ids == [r["id"] for r in ROWS if r["kind"] == "result"]
    by_id = {p["id"]: p for p in plotted}
    assert by_id["dmbn-number"]["ratio"] == pytest.approx(1.1)
    assert by_id["dmbn-number"]["seed_ratios"] == pytest.approx([1.0, 1.1, 1.2])
    assert by_id["gmn-huge"]["clipped"] == 1 and by_id["gmn-zero"]["clipped"] == -1
    assert by_id["som-negative"]["seed_ratios"] == pytest.approx([0.25, 0.5])  # the text seed is dropped
    for no_ratio in ("dmbn-qualitative", "gmn-sign", "gmn-paper-zero", "mirror-bool", "mirror-none"):
        assert by_id[no_ratio]["ratio"] is None and by_id[no_ratio]["seed_ratios"] == []


def test_plot_claims_overview_writes_a_legible_png(tmp_path):
    target = tmp_path / "figures" / "claims_overview.png"
    assert plot_claims_overview(ROWS, target) == target
    assert target.is_file()
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
    assert RATIO_MIN == 1e-2 and RATIO_MAX == 1e2


def test_no_result_claims_still_writes_a_picture(tmp_path):
    target = plot_claims_overview([r for r in ROWS if r["kind"] == "consistency"], tmp_path / "empty.png")
    assert _png_size(target)[0] > 0


def test_unknown_verdict_is_refused_by_name(tmp_path):
    bad = [*ROWS, _row("gmn", "gmn-bad", 1.0, 1.0, "sort of")]
    with pytest.raises(ValueError, match="sort of"):
        plot_claims_overview(bad, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
    with pytest.raises(ValueError, match="sideways"):
        claims_to_plot([_row("gmn", "gmn-kind", 1.0, 1.0, "reproduced", kind="sideways")])
    with pytest.raises(ValueError, match="verdict"):
        claims_to_plot([{"chapter": "gmn", "id": "x", "paper": 1, "ours": 1, "kind": "result"}])


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def half_written(self, fname, *args, **kwargs):
        Path(fname).write_bytes(b"\x89PNG partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(Figure, "savefig", half_written)
    with pytest.raises(RuntimeError, match="disk full"):
        plot_claims_overview(ROWS, tmp_path / "x.png")
    assert list(tmp_path.iterdir()) == []
