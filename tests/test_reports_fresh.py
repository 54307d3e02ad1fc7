"""The committed book must match its sources: reports fresh, claims well-formed, summary current."""

from __future__ import annotations

import pytest

from sensorimotor.claims import VERDICTS
from sensorimotor.pipeline import discover_chapters, read_report_metadata, source_hashes, summary_markdown
from sensorimotor.profiles import PROFILE_NAMES, load_chapter_module

CLAIM_FIELDS = {"id", "source", "statement", "paper", "ours", "criterion", "verdict"}


def _chapters(project_root):
    return list(discover_chapters(project_root).values())


def pytest_generate_tests(metafunc):
    if "chapter" in metafunc.fixturenames:
        from pathlib import Path

        root = Path(__file__).resolve().parents[1]
        chapters = list(discover_chapters(root).values())
        metafunc.parametrize("chapter", chapters, ids=[c.name for c in chapters])


def test_every_chapter_has_a_committed_report(chapter):
    assert chapter.report.exists(), f"{chapter.report} missing: run `nox -s {chapter.session_name}`"


def test_report_matches_its_source_and_config(chapter):
    if not chapter.report.exists():
        pytest.fail(f"{chapter.report} missing")
    meta = read_report_metadata(chapter.report)
    current = source_hashes(chapter)
    assert meta["source_sha256"] == current["source_sha256"], (
        f"{chapter.source} changed after its report: run `nox -s {chapter.session_name}`"
    )
    assert meta["config_sha256"] == current["config_sha256"], (
        f"{chapter.config_path} changed after its report: run `nox -s {chapter.session_name}`"
    )
    assert meta["profile"] == "default", "the committed book shows the default profile"


def test_report_claims_are_well_formed(chapter):
    if not chapter.report.exists():
        pytest.fail(f"{chapter.report} missing")
    claims = read_report_metadata(chapter.report)["claims"]
    assert claims, "a chapter reports at least one claim"
    for claim in claims:
        assert set(claim) == CLAIM_FIELDS
        assert claim["verdict"] in VERDICTS


def test_chapter_config_has_three_profiles(chapter):
    module = load_chapter_module(chapter.config_path)
    for name in PROFILE_NAMES:
        assert module.PROFILES.get(name).profile == name


def test_summary_page_is_current(project_root):
    current = (project_root / "book" / "summary.md").read_text()
    assert current == summary_markdown(project_root), "run `python -m sensorimotor.pipeline summary`"


def test_every_committed_report_is_in_the_table_of_contents(project_root):
    toc = (project_root / "book" / "_toc.yml").read_text()
    for report in sorted((project_root / "book" / "chapters").glob("*.ipynb")):
        assert f"chapters/{report.stem}" in toc, f"add chapters/{report.stem} to book/_toc.yml"
