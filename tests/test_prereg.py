"""The preregistration lock: rules registered before the run, every later change an amendment."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sensorimotor.pipeline import discover_chapters, read_report_metadata
from sensorimotor.prereg import (
    LockError,
    amend,
    amendments,
    current_sha256,
    declared_rules,
    load_lock,
    lock_path,
    lock_problems,
    register,
    save_lock,
)  # fmt: skip
from sensorimotor.profiles import load_chapter_module
from sensorimotor.rule_freshness import claim_problems
from sensorimotor.verdicts import Effect, Rule, spec_sha256

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = discover_chapters(ROOT)
OLD = Rule(Effect(null=0.0, paper=1.0)).to_spec()
NEW = Rule(Effect(null=0.0, paper=1.0, smallest=0.5)).to_spec()
WORDS = {"old": "smallest 0.75", "new": "smallest 0.5", "why": "a reason", "known": "nothing yet"}


def _lock():
    lock = {"chapter": "demo", "claims": {}}
    register(lock, "c", OLD, date="2026-12-01")
    return lock


def test_a_changed_rule_without_an_amendment_fails():
    assert lock_problems(_lock(), {"c": OLD}) == []
    assert any("no amendment records the change" in p for p in lock_problems(_lock(), {"c": NEW}))


def test_an_amendment_records_the_change_and_what_was_known():
    lock = _lock()
    amend(lock, "c", NEW, verdict_then="not reproduced", date="2026-12-07", **WORDS)
    assert lock_problems(lock, {"c": NEW}) == [] and current_sha256(lock["claims"]["c"]) == spec_sha256(NEW)
    (shown,) = amendments(lock, "c")
    assert shown["verdict_then"] == "not reproduced" and shown["known"] == "nothing yet" and "sha256" not in shown


def test_amendments_are_refused_when_empty_or_unchanged():
    with pytest.raises(LockError):
        amend(_lock(), "c", OLD, **WORDS)
    with pytest.raises(LockError):
        amend(_lock(), "c", NEW, **{**WORDS, "why": " "})
    with pytest.raises(LockError):
        register(_lock(), "c", NEW)


def test_unregistered_and_dropped_claims_are_named():
    problems = lock_problems(_lock(), {"d": OLD})
    assert any("d: its rule is not registered" in p for p in problems)
    assert any("c: registered in rules.lock but no longer declared" in p for p in problems)


def test_a_lock_round_trips_and_a_corrupt_one_is_refused(tmp_path):
    path = tmp_path / "rules.lock"
    save_lock(path, _lock())
    assert load_lock(path) == _lock()
    path.write_text("{not json")
    with pytest.raises(LockError, match="not valid JSON"):
        load_lock(path)
    with pytest.raises(LockError, match="no rules lock"):
        load_lock(tmp_path / "missing.lock")


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_every_chapter_has_a_lock_matching_its_rules(name):
    chapter = CHAPTERS[name]
    lock = load_lock(lock_path(chapter.folder))
    module = load_chapter_module(chapter.config_path)
    if hasattr(module, "RULES"):
        assert lock_problems(lock, declared_rules(module)) == []
    stored = read_report_metadata(chapter.report)["claims"]
    assert claim_problems(chapter.folder, module, stored) == []


def test_a_stored_claim_judged_by_another_claims_rule_fails():
    """A migrated chapter's claims must each carry the rule declared for that claim, not any declared rule."""
    migrated = [c for c in CHAPTERS.values() if hasattr(load_chapter_module(c.config_path), "RULES")]
    assert migrated, "no chapter declares RULES yet"
    chapter = migrated[0]
    module = load_chapter_module(chapter.config_path)
    stored = copy.deepcopy(read_report_metadata(chapter.report)["claims"])
    schema2 = [r for r in stored if r.get("schema") == 2 and r["kind"] == "result"]
    a, b = next((x, y) for x in schema2 for y in schema2 if x["rule"] != y["rule"])
    a["rule"] = json.loads(json.dumps(b["rule"]))
    problems = claim_problems(chapter.folder, module, stored)
    assert any(f"claim {a['id']}" in p for p in problems), problems


@pytest.mark.parametrize("name", sorted(CHAPTERS))
def test_no_check_in_a_committed_report_is_defective(name):
    """In the book's run every apparatus check's negative control fails it, and every prerequisite's passing
    reference passes it (its failing reference, where declared, fails it): no check that cannot pass or fail."""
    stored = read_report_metadata(CHAPTERS[name].report)["claims"]
    defective = [f"{row['id']}: {check['text']}" for row in stored if row.get("schema") == 2
                 for check in row["checks"].values() if check["status"] == "defective"]  # fmt: skip
    assert not defective, defective
