import math

import pytest

from sensorimotor.claims import AtLeast, AtMost, Claim, IsTrue, Within, claims_html, claims_markdown


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
    with pytest.raises(TypeError, match="needs a number"):
        AtLeast(1).verdict("high")
    with pytest.raises(TypeError, match="needs a bool"):
        IsTrue().verdict(1)


def test_claim_dict_has_the_stored_fields_and_plain_values():
    import numpy as np

    claim = Claim("x-1", "Table 1", "mirrors in most seeds", paper="10/10", ours=np.float64(0.9), criterion=AtLeast(0.8))
    row = claim.to_dict()
    assert set(row) == {"id", "source", "statement", "paper", "ours", "criterion", "verdict"}
    assert row["ours"] == 0.9 and type(row["ours"]) is float
    assert row["verdict"] == "reproduced" and row["criterion"] == ">= 0.8"


def test_tables_render_every_claim():
    rows = [Claim(f"c{i}", "Fig. 5", "s|t", 1, i, AtLeast(1)).to_dict() for i in range(3)]
    md = claims_markdown(rows)
    assert md.count("\n") == 4 and "s\\|t" in md
    assert claims_html(rows).count("<tr>") == 4


def test_show_claims_rejects_duplicate_ids():
    from sensorimotor.claims import show_claims

    claim = Claim("dup", "Fig. 1", "s", 1, 1, AtLeast(1))
    with pytest.raises(ValueError, match="duplicate claim ids"):
        show_claims([claim, claim])
