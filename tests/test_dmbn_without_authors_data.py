"""The DMBN chapter runs for a user without the authors' released data: its authors'-data claims are "not run"."""

import json
from pathlib import Path

from sensorimotor.pipeline import replicate

ROOT = Path(__file__).resolve().parents[1]


def test_smoke_chapter_runs_without_the_authors_data(tmp_path):
    report = replicate(ROOT, "dmbn", "smoke", overrides={"authors_data": None}, output=tmp_path / "dmbn.ipynb",
                       progress=False, cold=True)
    claims = {c["id"]: c for c in json.loads(report.read_text())["metadata"]["sensorimotor"]["claims"]}
    for claim_id in ("dmbn-5.1-authors", "dmbn-5.2-authors", "dmbn-5.3-authors"):
        assert claims[claim_id]["verdict"] == "not run", claims[claim_id]
    assert claims["dmbn-5.2"]["verdict"] != "not run"  # the chapter's own experiments still ran
