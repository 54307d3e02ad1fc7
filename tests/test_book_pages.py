"""The book's generated pages: causes, schema-2 rows, execution status (sensorimotor.book_pages)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sensorimotor.book_pages import (
    LANDING_PAGE,
    causes_section,
    claims_table,
    hardware_words,
    landing_markdown,
    rerun_command,
    stale_pages,
    summary_markdown,
)
from sensorimotor.book_rows import CAUSE_CHARS, claim_cause, scale_position, unit_values
from sensorimotor.summary_figure import claims_to_plot

DEMO = Path(__file__).parent / "notebooks" / "pipeline_demo"
LONG = "APoE haptics own-over-other-scene context gap − 3 SE over the Bayes observer's, lowest seed"


def _row(id_, verdict, **extra):
    """A schema-2 row on the replication scale, as the committed reports store it (plus ``chapter``)."""
    return {"schema": 2, "chapter": "gmn", "id": id_, "source": "Fig. 4", "statement": "APoE beats the baseline",
            "paper": "APoE > baseline", "ours": 0.4, "criterion": "interval clear of 0.25, estimate ≥ 0.35",
            "kind": "result", "section": "gmn-sec-fig4", "verdict": verdict, "null": 0.25, "smallest_effect": 0.35,
            "paper_effect": 0.75, "interval": [0.3, 0.5], "level": 0.9, "unit": "cases",
            "per_unit": {"a": 0.3, "b": 0.5}, "cause": None, "needed_n": None, "budget": None, "amendments": [],
            **extra}  # fmt: skip


def test_the_cause_is_one_short_line():
    twice = f"prerequisite failed: {LONG}; prerequisite failed: {LONG}"
    cause = claim_cause(_row("gmn-fig4", "inconclusive", cause=twice))
    assert cause.startswith("prerequisite failed: APoE haptics") and cause.endswith("…")
    assert len(cause) <= CAUSE_CHARS
    assert claim_cause(_row("x", "reproduced")) is None
    assert claim_cause(_row("x", "not reproduced", cause="effect half the paper's")) == "effect half the paper's"


def test_inconclusive_causes_are_grouped_and_counted_with_what_settles_them():
    prerequisite = "prerequisite failed: APoE uses image context"
    rows = [_row("a", "inconclusive", cause=prerequisite),
            _row("b", "inconclusive", cause=prerequisite),
            _row("c", "inconclusive", cause="underpowered: a 90%-power test needs 40 cases (2 measured)", needed_n=40),
            _row("d", "inconclusive", cause="underpowered: the spread is unknown (1 cases)"),
            _row("e", "reproduced"),
            _row("f", "inconclusive", cause="prerequisites failed: 4 of 4 checks (readings in the claim's box)")]  # fmt: skip
    text = "\n".join(causes_section(rows))
    assert "5 result claims are inconclusive" in text  # the reproduced one is not counted
    assert "4 of 4 checks (readings in the claim's box).** Settled by a run in which those checks pass" in text
    assert f"**2 claims: {prerequisite}.** Settled by a run in which that check passes" in text
    assert "needs 40 cases (2 measured).** Settled by about 40 cases (this run: 2)." in text
    assert "**1 claim: underpowered: the spread is unknown (1 cases).** Settled by a run with enough cases." in text
    assert "{ref}`a <gmn-sec-fig4>`" in text


def test_schema2_rows_show_interval_amendments_and_budget():
    amendment = {
        "date": "2026-12-05",
        "old": "mean − sd ≥ 0.8",
        "new": "lower bound ≥ smallest effect",
        "why": "a per-case interval replaces seed sd",
        "known": True,
        "verdict_under_original": "partly",
    }
    row = _row("gmn-s2", "reproduced", amendments=[amendment],
               budget={"ours": 3, "paper": 10, "unit": "seeds", "fraction": 0.3})  # fmt: skip
    table = claims_table([row, _row("gmn-inc", "inconclusive", cause="apparatus failed: the read-out")])
    assert "90% interval 0.3 to 0.5" in table and "2 cases" in table
    assert "null 0.25; smallest effect 0.35" in table
    assert "amended 2026-12-05: mean − sd ≥ 0.8 → lower bound ≥ smallest effect" in table
    assert "after the result was known); under the rule it replaced: partly" in table
    earlier = {**amendment, "date": "2026-11-30", "old": "AtLeast(0.7)", "verdict_under_original": "not reproduced"}
    twice = claims_table([_row("gmn-s3", "reproduced", amendments=[earlier, amendment])])
    assert "rule amended 2 times (all in the chapter&#x27;s verdict box); last amended 2026-12-05" in twice
    assert "AtLeast(0.7)" not in twice  # only the last amendment in the summary
    assert "<details><summary><small>rule amended (1) · budget</small></summary>" in table  # folded, labelled
    assert "budget: 3 of the paper&#x27;s 10 seeds (30%)" in table
    assert "<br><small>apparatus failed: the read-out</small>" in table.split("gmn-inc")[1]
    assert abs(scale_position(row, 0.35) - 1.0) < 1e-12 and scale_position(row, None) is None
    assert unit_values(row) == [0.3, 0.5] and unit_values(_row("x", "not run", per_unit=None)) == []


def test_a_row_of_another_schema_is_refused_by_its_claim_id_not_rendered():
    first_schema = {key: value for key, value in _row("gmn-old", "partly").items() if key != "schema"}
    for render in (claims_table, causes_section):
        refusal = r"claim 'gmn-old' is not a schema-2 claim \(sensorimotor.verdicts\): rerun its chapter"
        with pytest.raises(ValueError, match=refusal):
            render([_row("gmn-new", "inconclusive", cause="underpowered"), first_schema])
    with pytest.raises(ValueError, match="'gmn-old' is not a schema-2 claim"):
        claims_to_plot([first_schema])


def test_execution_words_and_rerun_commands():
    assert hardware_words({"cpu": "Xeon", "cpu_count": 2, "gpu": None, "torch_threads": 1}) == (
        "2 cores of Xeon, no GPU, torch on 1 thread")  # fmt: skip
    assert hardware_words({"cpu": "EPYC", "cpu_count": 16, "gpu": "NVIDIA H100", "torch_threads": 16}).startswith(
        "16 cores of EPYC, GPU NVIDIA H100")  # fmt: skip
    assert (
        rerun_command("som_ae", {"profile": "default", "seed": 0, "overrides": {}})
        == "nox -s replicate-som-ae"
    )
    assert rerun_command("gmn", {"profile": "paper", "seed": 2, "overrides": {"n_seeds": 5}}) == (
        "nox -s replicate-gmn -- --profile paper --seed 2 -p n_seeds=5")  # fmt: skip


def test_pages_without_reports_and_their_staleness(tmp_path):
    (tmp_path / "book").mkdir()
    shutil.copytree(
        DEMO, tmp_path / "replications" / "pipeline_demo", ignore=shutil.ignore_patterns("*.ipynb")
    )
    assert "without a committed report yet: pipeline_demo" in summary_markdown(tmp_path)
    landing = landing_markdown(tmp_path)
    assert "\nnox -s replicate-pipeline-demo  # rerun a chapter" in landing and "\nnox -s tests " in landing
    stale = stale_pages(tmp_path)
    assert f"book/{LANDING_PAGE.as_posix()}" in stale and "book/execution.md" in stale
