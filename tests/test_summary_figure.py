"""The summary picture: a forest plot of all claims (sensorimotor.summary_figure)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from sensorimotor.summary_figure import (
    DPI,
    FIG_WIDTH_IN,
    LABEL_CHARS,
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


def _row2(id_, ours, verdict, per_unit, null=0.5, paper_effect=0.9, interval=(0.6, 0.8), **extra):
    """A row on the replication scale (schema 2), as the chapters write them now."""
    return {
        **_row("gmn", id_, "0.9 (Table 1)", ours, verdict),
        "schema": 2,
        "statement": "APoE classifies scenes more accurately than the baseline",
        "null": null,
        "smallest_effect": 0.6,
        "paper_effect": paper_effect,
        "interval": list(interval),
        "level": 0.9,
        "unit": "cases",
        "per_unit": per_unit,
        "cause": None,
        **extra,
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
SCHEMA2 = [
    _row2("gmn-s2-reproduced", 0.7, "reproduced", {"a": 0.6, "b": 0.7, "c": 0.8}),
    _row2("gmn-s2-beyond", 2.5, "reproduced", {"a": 2.5}, interval=(2.0, 3.0)),
    _row2(
        "gmn-s2-no-paper-effect", 0.7, "inconclusive", {"a": 0.7}, paper_effect=None, cause="too few cases"
    ),
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
    assert by_id["dmbn-number"]["panel"] == "ratio" and by_id["dmbn-number"]["x"] == pytest.approx(1.1)
    assert by_id["dmbn-number"]["units"] == pytest.approx([1.0, 1.1, 1.2])
    assert by_id["gmn-huge"]["clipped"] == 1 and by_id["gmn-zero"]["clipped"] == -1
    assert by_id["som-negative"]["units"] == pytest.approx([0.25, 0.5])  # the text seed is dropped
    for no_ratio in ("dmbn-qualitative", "gmn-sign", "gmn-paper-zero", "mirror-bool", "mirror-none"):
        assert by_id[no_ratio]["panel"] == "list" and by_id[no_ratio]["x"] is None
        assert by_id[no_ratio]["units"] == []


def test_per_seed_stored_as_a_dict_gives_the_seed_values_not_the_keys():
    """Reports store ``per_seed`` as {"0": v, ...}: the picture must place the values (it placed 0 of 40)."""
    stored = _row("dmbn", "dmbn-stored", 2.0, 3.0, "reproduced", per_seed={"0": 2.0, "1": 3.0, "2": 4.0})
    (item,) = claims_to_plot([stored])
    assert item["units"] == pytest.approx([1.0, 1.5, 2.0])
    booleans = _row("mirror", "mirror-stored", 1.0, 0.5, "not reproduced", per_seed={"0": True, "1": False})
    assert claims_to_plot([booleans])[0]["units"] == []  # yes/no seeds have no ratio


def test_schema2_rows_sit_on_the_replication_scale():
    plotted = {p["id"]: p for p in claims_to_plot(SCHEMA2 + ROWS[:1])}
    item = plotted["gmn-s2-reproduced"]
    assert item["panel"] == "scale"
    assert item["x"] == pytest.approx(2.0)  # (0.7 - 0.5) / (0.6 - 0.5): in units of the smallest effect
    assert item["interval"] == pytest.approx((1.0, 3.0))
    assert item["units"] == pytest.approx([1.0, 2.0, 3.0])
    assert item["paper"] == pytest.approx(4.0)  # the paper's effect, (0.9 - 0.5) / 0.1
    assert plotted["gmn-s2-beyond"]["x"] == pytest.approx(20.0) and plotted["gmn-s2-beyond"]["clipped"] == 1
    # no paper number: still on the scale (its smallest effect is declared), without the paper's tick
    assert plotted["gmn-s2-no-paper-effect"]["panel"] == "scale" and plotted["gmn-s2-no-paper-effect"]["paper"] is None
    assert plotted["dmbn-number"]["panel"] == "ratio"


def test_labels_carry_the_statement_and_stay_short():
    item = claims_to_plot(SCHEMA2[:1])[0]
    assert item["label"].startswith("gmn-s2-reproduced: APoE classifies")
    assert len(item["label"]) <= LABEL_CHARS and item["label"].endswith("…")
    assert claims_to_plot(ROWS[:1])[0]["label"] == "dmbn-number"  # no statement: the id alone


@pytest.mark.parametrize("rows", [ROWS, SCHEMA2, ROWS + SCHEMA2], ids=["old", "schema2", "both"])
def test_plot_claims_overview_writes_a_legible_png(tmp_path, rows):
    target = tmp_path / "figures" / "claims_overview.png"
    assert plot_claims_overview(rows, target) == target
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
