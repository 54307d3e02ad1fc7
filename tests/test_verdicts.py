"""Verdicts by replication statistics: intervals, power, checks with controls, stored claims."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sensorimotor.pipeline import discover_chapters
from sensorimotor.profiles import load_chapter_module
from sensorimotor.replication_stats import (
    Estimate,
    StatsError,
    bootstrap_interval,
    needed_units,
    power,
    t_interval,
)  # fmt: skip
from sensorimotor.verdicts import (
    Apparatus,
    Bar,
    Budget,
    Capability,
    Claim,
    Controls,
    Effect,
    Prerequisite,
    Rule,
    VerdictError,
    counts_checks,
    format_number,
    is_check_cause,
    judge,
    recompute,
    stored_problems,
)  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
MIGRATED = {name: ch for name, ch in discover_chapters(ROOT).items() if hasattr(load_chapter_module(ch.config_path), "RULES")}


# --- statistics -------------------------------------------------------------------------------------


def test_t_interval_matches_the_textbook_value():
    est = t_interval([1.0, 2.0, 3.0], level=0.9)
    # mean 2, sd 1, t(0.95, 2) = 2.919986
    assert est.value == 2.0 and math.isclose(est.high - 2.0, 2.919986 / math.sqrt(3), rel_tol=1e-5)
    assert est.n == 3 and est.sd == 1.0


def test_bootstrap_interval_is_seeded_and_holds_the_mean():
    a, b = bootstrap_interval([0.1, 0.5, 0.2, 0.9, 0.4]), bootstrap_interval([0.1, 0.5, 0.2, 0.9, 0.4])
    assert a == b and a.low <= a.value <= a.high


@pytest.mark.parametrize("bad", [[1.0], [1.0, float("nan")], [1.0, "x"], [True, 1.0]])
def test_intervals_refuse_bad_values(bad):
    with pytest.raises(StatsError):
        t_interval(bad)


def test_needed_units_gives_ninety_percent_power_and_no_less():
    n = needed_units(0.5, 1.0, level=0.9)
    assert power(n, 0.5, 1.0) >= 0.9 > power(n - 1, 0.5, 1.0)
    assert needed_units(0.5, None) is None and needed_units(0.5, 0.0) == 2
    with pytest.raises(StatsError):
        needed_units(0.0, 1.0)


# --- the decision --------------------------------------------------------------------------------------

UP = Rule(Effect(null=0.0, paper=1.0))  # smallest 0.75
DOWN = Rule(Effect(null=1.0, paper=0.8))  # smallest 0.85, lower is the paper's direction


@pytest.mark.parametrize(
    ("rule", "values", "verdict"),
    [
        (UP, [0.9, 0.95, 1.0], "reproduced"),
        (UP, [0.3, 0.35, 0.4], "partly"),
        (UP, [-0.05, 0.0, 0.05], "not reproduced"),
        (UP, [-1.0, 0.8, 2.0], "inconclusive"),
        (UP, [0.9], "inconclusive"),  # a single seed is not a result
        (DOWN, [0.80, 0.81, 0.82], "reproduced"),
        (DOWN, [1.0, 1.01, 0.99], "not reproduced"),
        (DOWN, [1.2, 1.21, 1.22], "not reproduced"),  # the opposite direction
    ],
)
def test_interval_decisions(rule, values, verdict):
    assert judge(rule, dict(enumerate(values)), {}).verdict == verdict


def test_underpowered_says_how_many_units_a_test_needs():
    j = judge(UP, {0: -1.0, 1: 0.8, 2: 2.0}, {})
    assert j.needed_n is not None and j.needed_n > 3 and f"needs {j.needed_n} seeds" in j.cause


def test_a_given_estimate_and_an_exact_value_are_judged_too():
    rule = Rule(Effect(null=1.0, smallest=1.3, unit="repeats"))
    assert judge(rule, Estimate(1.5, 1.4, 1.6, 24, 0.1, 0.9, "bootstrap"), {}).verdict == "reproduced"
    exact = Rule(Effect(null=1.0, paper=300.0, unit="exact"))
    assert judge(exact, 315.0, {}).verdict == "reproduced"
    with pytest.raises(VerdictError):
        judge(exact, {0: 1.0, 1: 2.0}, {})


@pytest.mark.parametrize(
    "kwargs",
    [{"null": 1.0}, {"null": 1.0, "smallest": 1.0}, {"null": 0.0, "paper": 1.0, "smallest": -0.5},
     {"null": 0.0, "paper": 1.0, "unit": "trials"}, {"null": 0.0, "paper": 1.0, "level": 0.3},
     {"null": float("nan"), "paper": 1.0}],
)  # fmt: skip
def test_effect_refuses_what_cannot_be_judged(kwargs):
    with pytest.raises(VerdictError):
        Effect(**kwargs)


# --- checks --------------------------------------------------------------------------------------------

APPARATUS = Rule(Effect(null=0.0, paper=1.0), {"reader": Apparatus(Bar(0.5), positive="truth", negative="shuffled")})
PREREQ = Rule(Effect(null=0.0, paper=1.0), {"uses images": Prerequisite(Bar(1.0), "reference", "no-context model")})
GOOD = {0: 0.9, 1: 0.95, 2: 1.0}


def test_apparatus_passes_on_its_positive_and_fails_on_its_negative_control():
    assert judge(APPARATUS, GOOD, {"reader": Controls(0.8, 0.1)}).verdict == "reproduced"
    failed = judge(APPARATUS, GOOD, {"reader": Controls(0.2, 0.1)})
    assert (failed.verdict, failed.cause) == ("inconclusive", "apparatus failed: reader")
    defective = judge(APPARATUS, GOOD, {"reader": Controls(0.8, 0.9)})  # the negative control reads an effect
    assert defective.cause == "check defective: reader"


def test_a_prerequisite_must_be_reachable_and_able_to_fail():
    ok = {"uses images": Capability({0: 2.0, 1: 3.0, 2: 2.5}, reference=5.0, failing_reference=0.0)}
    assert judge(PREREQ, GOOD, ok).verdict == "reproduced"
    failed = {"uses images": Capability({0: 2.0, 1: 0.5, 2: 2.5}, reference=5.0, failing_reference=0.0)}
    assert judge(PREREQ, GOOD, failed).cause == "prerequisite failed: uses images"
    unreachable = {"uses images": Capability({0: 2.0, 1: 3.0, 2: 2.5}, reference=0.5)}
    assert judge(PREREQ, GOOD, unreachable).cause == "check defective: uses images"
    cannot_fail = {"uses images": Capability({0: 2.0, 1: 3.0, 2: 2.5}, reference=5.0, failing_reference=1.5)}
    assert judge(PREREQ, GOOD, cannot_fail).cause == "check defective: uses images"


def test_several_failing_checks_are_counted_not_listed():
    checks = {"reader": Apparatus(Bar(0.5), positive="truth", negative="shuffled"),
              "uses images": Prerequisite(Bar(1.0), "reference", "no-context model"),
              "reads grasps": Prerequisite(Bar(1.0), "reference", "no-context model")}  # fmt: skip
    rule = Rule(Effect(null=0.0, paper=1.0), checks)
    weak = Capability({0: 0.2, 1: 0.5, 2: 0.3}, reference=5.0, failing_reference=0.0)
    failed = judge(rule, GOOD, {"reader": Controls(0.2, 0.1), "uses images": weak, "reads grasps": weak})
    assert failed.verdict == "inconclusive" and is_check_cause(failed.cause)
    assert failed.cause == "checks failed: 3 of 3 checks (1 apparatus check, 2 prerequisites; readings in the claim's box)"
    assert "uses images" not in failed.cause and "reader" not in failed.cause
    two = judge(rule, GOOD, {"reader": Controls(0.8, 0.1), "uses images": weak, "reads grasps": weak})
    assert two.cause == "prerequisites failed: 2 of 3 checks (readings in the claim's box)"
    one = judge(rule, GOOD, {"reader": Controls(0.8, 0.1), "uses images": weak,
                             "reads grasps": Capability({0: 2.0, 1: 2.0, 2: 2.0}, reference=5.0, failing_reference=0.0)})
    assert one.cause == "prerequisite failed: uses images" and is_check_cause(one.cause)
    assert not is_check_cause("underpowered: a 90%-power test needs 12 seeds (3 measured)")
    assert counts_checks(failed.cause) and counts_checks(two.cause) and not counts_checks(one.cause)


def test_a_trivial_value_with_a_passing_apparatus_is_not_reproduced():
    j = judge(APPARATUS, {0: -0.01, 1: 0.0, 2: 0.01}, {"reader": Controls(0.8, 0.1)})
    assert j.verdict == "not reproduced"


def test_the_cause_does_not_depend_on_the_order_the_rule_declares_its_checks():
    checks = {"b uses images": Prerequisite(Bar(1.0), "reference"), "a reads grasps": Prerequisite(Bar(1.0), "reference")}
    failing = Capability(0.0, reference=2.0)
    causes = {
        judge(Rule(Effect(null=0.0, paper=1.0), dict(order)), GOOD, {n: failing for n in checks}).cause
        for order in (checks.items(), reversed(checks.items()))
    }
    assert causes == {"prerequisites failed: 2 of 2 checks (readings in the claim's box)"}
    one = {"b uses images": failing, "a reads grasps": Capability(3.0, reference=2.0)}
    assert {judge(Rule(Effect(null=0.0, paper=1.0), dict(order)), GOOD, one).cause
            for order in (checks.items(), reversed(checks.items()))} == {"prerequisite failed: b uses images"}


def test_claims_need_exactly_the_declared_readings():
    with pytest.raises(VerdictError):
        Claim("c", "Fig. 1", "s", 1.0, GOOD, APPARATUS, {})


# --- stored claims -------------------------------------------------------------------------------------


def _row(**changes):
    claim = Claim("c", "Fig. 1", "s", 1.0, GOOD, APPARATUS, {"reader": Controls(0.8, 0.1)},
                  budget=Budget(5000, 75000, "samples"))  # fmt: skip
    return {**claim.to_dict(), **changes}


def test_a_stored_claim_rejudges_to_its_verdict():
    row = _row()
    assert row["budget"]["fraction"] == pytest.approx(5000 / 75000)
    assert recompute(row).verdict == row["verdict"] == "reproduced" and stored_problems(row) == []


def test_an_edited_stored_claim_fails():
    row = _row(per_unit={"0": 0.0, "1": 0.01, "2": -0.01})
    assert stored_problems(row)
    loosened = _row()
    loosened["checks"]["reader"]["reading"]["positive"] = {"0": 0.1}
    assert stored_problems(loosened)
    reworded = _row()
    reworded["cause"] = "an older wording of the same verdict"
    assert stored_problems(reworded) == [f"claim {reworded['id']}: stored cause 'an older wording of the same verdict', "
                                         f"its values and rule give {recompute(_row()).cause!r}"]


def test_the_verdict_box_shows_the_answer_and_folds_checks_budget_and_history():
    from sensorimotor.verdicts import verdict_box_html

    amendment = {"date": "2026-12-07", "old": "mean - sd >= 1", "new": "interval", "why": "issue 28",
                 "known": "all values", "verdict_then": "inconclusive"}  # fmt: skip
    box = verdict_box_html(_row(amendments=[amendment]))
    head, folded = box.split("<details>")
    assert "reproduced" in head and "rule:" in head and "✓" not in head and "amended" not in head
    summary = folded.split("</summary>")[0]
    assert "checks 1 passed" in summary and "budget 0.067" in summary
    assert "rule amended 1 time (before the last amendment: inconclusive)" in summary
    assert "✓ apparatus check" in folded and "amended 2026-12-07" in folded
    assert "<details>" not in verdict_box_html(_row(checks={}, budget=None))


# --- every migrated chapter's rules can reach every verdict ---------------------------------------------


def _reading(check, passes=True):
    """A reading on which ``check`` passes (or fails), with controls and references that behave."""
    t = check.bar.threshold
    yes, no = (t + 1.0, t - 1.0) if check.bar.above else (t - 1.0, t + 1.0)
    if isinstance(check, Apparatus):
        return Controls(yes if passes else no, no)
    return Capability(yes if passes else no, reference=yes, failing_reference=no if check.failing_reference else None)


def _values(effect, at, spread):
    if effect.unit == "exact":
        return at
    return {0: at - spread, 1: at, 2: at + spread}


def _rules():
    for name, chapter in MIGRATED.items():
        for claim_id, rule in load_chapter_module(chapter.config_path).RULES.items():
            yield pytest.param(rule, id=f"{name}:{claim_id}")


@pytest.mark.parametrize("rule", list(_rules()))
def test_every_declared_rule_can_reach_every_verdict(rule):
    e = rule.effect
    gap = e.smallest - e.null
    passing = {n: _reading(c) for n, c in rule.checks.items()}
    reached = {
        judge(rule, _values(e, e.smallest + 0.5 * gap, 0.01 * abs(gap)), passing).verdict,
        judge(rule, _values(e, e.null, 0.01 * abs(gap)), passing).verdict,
    }
    if e.unit != "exact":
        reached.add(judge(rule, _values(e, e.null + 0.5 * gap, 50 * abs(gap)), passing).verdict)
    for name, check in rule.checks.items():
        reached.add(judge(rule, _values(e, e.smallest + 0.5 * gap, 0.0), {**passing, name: _reading(check, passes=False)}).verdict)
        assert judge(rule, _values(e, e.smallest + 0.5 * gap, 0.0), {**passing, name: _reading(check, passes=False)}).cause.startswith(
            ("apparatus failed", "prerequisite failed"))
    assert {"reproduced", "not reproduced"} <= reached
    if e.unit != "exact" or rule.checks:
        assert "inconclusive" in reached


def test_every_chapter_is_judged_by_replication_statistics():
    """Issue 28: every chapter declares its rules in ``RULES`` (the first schema, ``sensorimotor.claims``, is gone)."""
    assert set(discover_chapters(ROOT)) - set(MIGRATED) == set()


def test_numbers_show_three_digits_and_a_rounding_error_of_zero_as_zero():
    assert [format_number(v) for v in (0.012345, 1.18e-14, -3e-13, 2.5e-9, None, True)] == [
        "0.0123", "0", "0", "2.5e-09", "—", "yes"]
