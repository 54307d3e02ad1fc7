"""The book's generated pages: causes, both row schemas, execution status (sensorimotor.book_pages)."""

from __future__ import annotations

import shutil
from pathlib import Path

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
from sensorimotor.book_rows import CAUSE_CHARS, claim_cause, parse_failed, scale_position, unit_values

DEMO = Path(__file__).parent / "notebooks" / "pipeline_demo"
LONG = "APoE haptics own-over-other-scene context gap − 3 SE over the Bayes observer's, lowest seed"


def _old(id_, verdict, failed=(), **extra):
    """A row as the committed reports store it (no schema key, per_seed as a dict)."""
    return {"chapter": "gmn", "id": id_, "source": "Fig. 4", "statement": "APoE beats the baseline",
            "paper": "APoE > baseline", "ours": 0.09, "per_seed": {"0": 0.05, "1": 0.11, "2": 0.1},
            "spread": 0.03, "criterion": "mean − sd ≥ 0.03 (partly: ≥ 0.01)", "failed_checks": list(failed),
            "kind": "result", "section": "gmn-sec-fig4", "verdict": verdict, **extra}  # fmt: skip


def _new(id_, verdict, **extra):
    """A schema-2 row on the replication scale."""
    return {**_old(id_, verdict), "schema": 2, "null": 0.25, "smallest_effect": 0.35, "paper_effect": 0.75,
            "interval": [0.3, 0.5], "level": 0.9, "unit": "cases", "per_unit": {"a": 0.3, "b": 0.5},
            "cause": None, "needed_n": None, "budget": None, "amendments": [], **extra}  # fmt: skip


def test_a_failed_check_parses_even_when_its_name_holds_colons():
    check = parse_failed(
        "left side: response to the pull differs (share of angles): 0.6 (needs mean − sd ≥ 0.5)"
    )
    assert (check.name, check.value, check.needs) == (
        "left side: response to the pull differs (share of angles)", "0.6", "mean − sd ≥ 0.5")  # fmt: skip
    assert check.family == "left side: response to the pull differs"
    assert parse_failed("seeds: 1 measured, 3 needed").name == "seeds"


def test_the_cause_is_one_short_line_not_a_list_of_checks():
    row = _old("gmn-fig4", "inconclusive", [f"{LONG}: -0.00718 (needs ≥ 0.5 in every seed)",
                                            "APoE image context gain: 9.95 (needs ≥ 10)"])  # fmt: skip
    cause = claim_cause(row)
    assert cause.startswith("instrument check failed: APoE haptics") and cause.endswith("… (+1 more)")
    assert len(cause) <= CAUSE_CHARS and "needs" not in cause
    assert claim_cause(_old("x", "inconclusive", ["seeds: 1 measured, 3 needed"])) == (
        "too few seeds: 1 measured, 3 needed")  # fmt: skip
    assert claim_cause(_old("x", "reproduced")) is None
    assert (
        claim_cause(_new("x", "not reproduced", cause="effect half the paper's")) == "effect half the paper's"
    )


def test_inconclusive_causes_are_grouped_and_counted_with_what_settles_them():
    rows = [_old("a", "inconclusive", ["image gain (left R): 1.85 (needs ≥ 10 in every seed)"]),
            _old("b", "inconclusive", ["image gain (a): 0.2 (needs ≥ 10 in every seed)"]),
            _old("c", "inconclusive", ["seeds: 1 measured, 3 needed"]),
            _new("d", "inconclusive", cause="too few cases for the interval", needed_n=40),
            _old("e", "reproduced")]  # fmt: skip
    text = "\n".join(causes_section(rows))
    assert "4 result claims are inconclusive" in text  # the reproduced one is not counted
    assert "**2 claims: instrument check “image gain” failed.**" in text
    assert "reaches ≥ 10 in every seed (this run: 1.85, 0.2)" in text
    assert "**1 claim: too few seeds measured.** Settled by a run of 3 seeds or more" in text
    assert "**1 claim: too few cases for the interval.** Settled by about 40 cases (this run: 2)" in text
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
    row = _new("gmn-s2", "reproduced", amendments=[amendment],
               budget={"ours": 3, "paper": 10, "unit": "seeds", "fraction": 0.3})  # fmt: skip
    table = claims_table([row, _old("gmn-old", "inconclusive", ["check: 1 (needs ≥ 2)"])])
    assert "90% interval 0.3 to 0.5" in table and "2 cases" in table
    assert "null 0.25; smallest effect 0.35" in table
    assert "amended 2026-12-05: mean − sd ≥ 0.8 → lower bound ≥ smallest effect" in table
    assert "after the result was known); under the rule it replaced: partly" in table
    earlier = {**amendment, "date": "2026-11-30", "old": "AtLeast(0.7)", "verdict_under_original": "not reproduced"}
    twice = claims_table([_new("gmn-s3", "reproduced", amendments=[earlier, amendment])])
    assert "rule amended 2 times (all in the chapter&#x27;s verdict box); last amended 2026-12-05" in twice
    assert "AtLeast(0.7)" not in twice  # only the last amendment in the summary
    assert "<details><summary><small>rule amended (1) · budget</small></summary>" in table  # folded, labelled
    assert "budget: 3 of the paper&#x27;s 10 seeds (30%)" in table
    assert "instrument check failed: check" in table and "needs" not in table.split("gmn-old")[1]
    assert abs(scale_position(row, 0.35) - 1.0) < 1e-12 and scale_position(_old("x", "partly"), 0.75) is None
    assert unit_values(row) == [0.3, 0.5] and unit_values(_old("x", "partly")) == [0.05, 0.11, 0.1]


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
