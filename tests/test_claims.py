import json
import math

import pytest

from sensorimotor.claims import (
    AtLeast,
    AtMost,
    Claim,
    ClaimError,
    IsTrue,
    Rule,
    Seeds,
    Within,
    claims_html,
    claims_markdown,
    recompute_verdict,
    tally,
)  # fmt: skip


@pytest.mark.parametrize(
    ("criterion", "value", "verdict"),
    [
        (AtLeast(0.8, partly=0.5), 0.9, "reproduced"),
        (AtLeast(0.8, partly=0.5), 0.6, "partly"),
        (AtLeast(0.8, partly=0.5), 0.2, "not reproduced"),
        (AtLeast(0.8), 0.6, "not reproduced"),
        (AtMost(0.1, partly=0.2), 0.05, "reproduced"),
        (AtMost(0.1, partly=0.2), 0.15, "partly"),
        (AtMost(0.1, partly=0.2), 0.5, "not reproduced"),
        (Within(1.0, 0.1, partly_tolerance=0.3), 1.05, "reproduced"),
        (Within(1.0, 0.1, partly_tolerance=0.3), 0.75, "partly"),
        (Within(1.0, 0.1), 2.0, "not reproduced"),
        (IsTrue(), True, "reproduced"),
        (IsTrue(), False, "not reproduced"),
        (AtLeast(0.8), None, "not run"),
        (AtMost(0.8), math.nan, "not run"),
    ],
)
def test_verdicts(criterion, value, verdict):
    assert criterion.verdict(value) == verdict


def test_criteria_refuse_wrong_kinds_of_value():
    with pytest.raises(ClaimError, match="not a number"):
        AtLeast(1).verdict("high")
    with pytest.raises(ClaimError, match="needs a bool"):
        IsTrue().verdict(1)
    with pytest.raises(ClaimError, match="must be finite"):
        AtLeast(math.inf)
    with pytest.raises(ClaimError, match="partly bar"):
        AtLeast(0.5, partly=0.8)


def test_claim_dict_has_the_stored_fields_and_plain_values():
    import numpy as np

    claim = Claim("x-1", "Table 1", "mirrors in most seeds", paper="10/10", ours=np.float64(0.9), criterion=AtLeast(0.8))
    row = claim.to_dict()
    assert {"id", "source", "statement", "paper", "ours", "criterion", "verdict", "rule", "per_seed", "kind"} <= set(row)
    assert row["ours"] == 0.9 and type(row["ours"]) is float
    assert row["verdict"] == "reproduced" and "≥ 0.8" in row["criterion"]
    assert json.dumps(row, allow_nan=False)


def test_tables_render_every_claim():
    rows = [Claim(f"c{i}", "Fig. 5", "s|t", 1, i, AtLeast(1)).to_dict() for i in range(3)]
    md = claims_markdown(rows)
    assert md.count("\n") == 4 and "s\\|t" in md
    assert claims_html(rows).count("<tr>") == 4


def test_show_claims_rejects_duplicate_ids():
    from sensorimotor.claims import show_claims

    claim = Claim("dup", "Fig. 1", "s", 1, 1, AtLeast(1))
    with pytest.raises(ClaimError, match="duplicate claim ids"):
        show_claims([claim, claim])


MAJORITY = Rule(AtLeast(0.8, partly=0.5), checks={"beats the majority answer": AtLeast(0.05)}, min_seeds=3)


def test_a_failed_instrument_check_makes_the_claim_inconclusive():
    seeds = Seeds({0: 0.9, 1: 0.9, 2: 0.9})
    good = Claim("c", "Sec. 5.1", "s", "accurate", seeds, MAJORITY, checks={"beats the majority answer": 0.2})
    bad = Claim("c", "Sec. 5.1", "s", "accurate", seeds, MAJORITY, checks={"beats the majority answer": 0.0})
    assert good.verdict == "reproduced"
    assert bad.verdict == "inconclusive"
    assert bad.failed_checks == ["beats the majority answer: 0 (needs mean − sd ≥ 0.05)"]
    assert "failed: beats the majority answer: 0" in claims_html([bad.to_dict()])
    # an unmeasured check fails too: absence of evidence is not a pass
    missing = Claim("c", "Sec. 5.1", "s", "accurate", seeds, MAJORITY, checks={"beats the majority answer": None})
    assert missing.verdict == "inconclusive"


def test_too_few_seeds_is_inconclusive_and_no_value_is_not_run():
    one = Claim("c", "s", "s", 1, 0.95, MAJORITY, checks={"beats the majority answer": 0.3})
    assert one.verdict == "inconclusive" and one.failed_checks == ["seeds: 1 measured, 3 needed"]
    none = Claim("c", "s", "s", 1, None, MAJORITY, checks={"beats the majority answer": 0.3})
    assert none.verdict == "not run"
    blind = Claim("c", "s", "s", 1, None, MAJORITY, checks={"beats the majority answer": -0.3})
    assert blind.verdict == "inconclusive"  # not measurable *because* the instrument could not see it
    assert Claim("c", "s", "s", 1, None, MAJORITY, checks={"beats the majority answer": None}).verdict == "not run"


def test_checks_must_match_the_rule():
    with pytest.raises(ClaimError, match="differ from the checks its rule declares"):
        Claim("c", "s", "s", 1, 0.9, MAJORITY)
    with pytest.raises(ClaimError, match="differ"):
        Claim("c", "s", "s", 1, 0.9, AtLeast(0.5), checks={"extra": 1.0})


@pytest.mark.parametrize(
    ("criterion", "values", "verdict"),
    [
        # an effect smaller than its spread is not reproduced: mean 0.9, sd 0.3 -> 0.6 < 0.8
        (AtLeast(0.8, partly=0.5), {0: 0.6, 1: 0.9, 2: 1.2}, "partly"),
        (AtLeast(0.8), {0: 0.85, 1: 0.9, 2: 0.95}, "reproduced"),
        (AtLeast(0.8, over_seeds="every-seed"), {0: 0.7, 1: 0.9, 2: 1.2}, "not reproduced"),
        (AtLeast(0.8, over_seeds="mean"), {0: 0.7, 1: 0.9, 2: 1.2}, "reproduced"),
        (AtMost(0.1), {0: 0.05, 1: 0.06, 2: 0.07}, "reproduced"),
        (AtMost(0.1), {0: 0.0, 1: 0.09, 2: 0.18}, "not reproduced"),
        (Within(1.0, 0.1), {0: 0.95, 1: 1.0, 2: 1.05}, "reproduced"),
        (Within(1.0, 0.1), {0: 0.8, 1: 1.0, 2: 1.2}, "not reproduced"),
        (IsTrue(), {0: True, 1: True, 2: False}, "not reproduced"),
        (IsTrue(over_seeds="mean"), {0: True, 1: True, 2: False}, "reproduced"),
        (AtLeast(0.8), {0: None, 1: 0.9}, "reproduced"),  # a seed that did not run is not counted
    ],
)
def test_multi_seed_verdicts_weigh_the_spread(criterion, values, verdict):
    assert criterion.verdict(Seeds(values)) == verdict


def test_stored_claims_are_rejudged_from_their_values():
    claim = Claim("c", "s", "s", 1, Seeds({0: 0.9, 1: 0.95, 2: 0.85}), MAJORITY,
                  checks={"beats the majority answer": Seeds({0: 0.1, 1: 0.1, 2: 0.2})})  # fmt: skip
    row = json.loads(json.dumps(claim.to_dict()))
    assert recompute_verdict(row) == ("reproduced", [])
    edited = {**row, "per_seed": {"0": 0.1, "1": 0.2, "2": 0.1}, "ours": 0.9}
    with pytest.raises(ClaimError, match="not the mean"):
        recompute_verdict(edited)
    edited = {**row, "checks": {"beats the majority answer": {**row["checks"]["beats the majority answer"],
                                                               "value": 0.0, "per_seed": None}}}  # fmt: skip
    assert recompute_verdict(edited)[0] == "inconclusive"


def test_consistency_checks_are_left_out_of_the_tally():
    rows = [
        Claim("r", "s", "s", 1, 1.0, AtLeast(1)).to_dict(),
        Claim("k", "s", "s", 10, 10, Rule(AtLeast(10), kind="consistency")).to_dict(),
        Claim("i", "s", "s", 1, 1.0, MAJORITY, checks={"beats the majority answer": -1.0}).to_dict(),
    ]
    assert tally(rows) == {"reproduced": 1, "partly": 0, "not reproduced": 0, "inconclusive": 1, "not run": 0}
    html = claims_html(rows)
    assert html.index("Consistency checks") > html.index(">r<") and html.index(">k<") > html.index("Consistency checks")


def test_rules_refuse_bad_declarations():
    with pytest.raises(ClaimError, match="min_seeds"):
        Rule(AtLeast(1), min_seeds=0)
    with pytest.raises(ClaimError, match="kind"):
        Rule(AtLeast(1), kind="result-ish")
    with pytest.raises(ClaimError, match="over_seeds"):
        AtLeast(1, over_seeds="median")
    assert Rule.from_spec(MAJORITY.to_spec()) == MAJORITY
