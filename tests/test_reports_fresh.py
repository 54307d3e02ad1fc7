"""The committed book must match its sources: reports fresh, verdicts re-derivable, summary current."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from sensorimotor.pipeline import discover_chapters, replicate, report_problems, summary_markdown
from sensorimotor.profiles import PROFILE_NAMES, load_chapter_module

ROOT = Path(__file__).resolve().parents[1]
DEMO = Path(__file__).parent / "notebooks" / "pipeline_demo"


def pytest_generate_tests(metafunc):
    if "chapter" in metafunc.fixturenames:
        chapters = list(discover_chapters(ROOT).values())
        metafunc.parametrize("chapter", chapters, ids=[c.name for c in chapters])


def test_committed_report_is_fresh(chapter):
    """Source, config and library hashes match the tree; default profile, seed 0, no overrides; every
    stored verdict is what its stored values, rule and instrument checks give."""
    problems = report_problems(ROOT, chapter)
    assert not problems, "\n".join(problems)


def test_chapter_config_has_three_profiles(chapter):
    module = load_chapter_module(chapter.config_path)
    for name in PROFILE_NAMES:
        assert module.PROFILES.get(name).profile == name


def test_summary_page_is_current(project_root):
    """The summary, the landing page's results and the execution page are what the reports give."""
    from sensorimotor.book_pages import stale_pages

    current = (project_root / "book" / "summary.md").read_text()
    assert current == summary_markdown(project_root), "run `python -m sensorimotor.pipeline summary`"
    assert stale_pages(project_root) == [], "run `python -m sensorimotor.pipeline summary`"


def test_every_committed_report_is_in_the_table_of_contents(project_root):
    toc = (project_root / "book" / "_toc.yml").read_text()
    for report in sorted((project_root / "book" / "chapters").glob("*.ipynb")):
        assert f"chapters/{report.stem}" in toc, f"add chapters/{report.stem} to book/_toc.yml"


# --- the freshness check itself catches edits, proven on the demo notebook ---------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("fresh")
    (root / "book").mkdir()
    shutil.copytree(DEMO, root / "replications" / "pipeline_demo", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(ROOT / "shared" / "sensorimotor", root / "shared" / "sensorimotor",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:  # runs before conftest's per-test cache: use its own
        patch.setenv("SENSORIMOTOR_CACHE", str(tmp_path_factory.mktemp("fresh-cache")))
        report = replicate(root, "pipeline_demo", progress=False)
    chapter = discover_chapters(root)["pipeline_demo"]
    return root, chapter, report.read_bytes()


def _edit(root, chapter, original, change):
    notebook = nbformat.reads(original.decode(), as_version=4)
    change(notebook.metadata["sensorimotor"])
    nbformat.write(notebook, str(chapter.report))
    try:
        return report_problems(root, chapter)
    finally:
        chapter.report.write_bytes(original)


def test_an_untouched_report_is_fresh(demo):
    root, chapter, _ = demo
    assert report_problems(root, chapter) == []


def _set_claim(meta, **values):
    meta["claims"][0].update(values)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: _set_claim(m, ours=0.5, per_unit={"0": 0.5}), "stored verdict 'reproduced'"),
        (lambda m: _set_claim(m, verdict="not reproduced"), "differ from those its cells displayed"),
        (lambda m: m.update(seed=7), "seed 7"),
        (lambda m: m.update(overrides={"n_samples": 1}), "overrides {'n_samples': 1}"),
        (lambda m: m.update(profile="smoke"), "profile 'smoke'"),
        (lambda m: m["library_modules"].update({"sensorimotor.verdicts": "0" * 64}), "sensorimotor.verdicts changed"),
        (lambda m: m.update(config_sha256="0" * 64), "config.py changed"),
    ],
)
def test_an_edited_report_fails_the_freshness_check(demo, change, message):
    root, chapter, original = demo
    problems = _edit(root, chapter, original, change)
    assert any(message in p for p in problems), problems


def test_a_claim_edited_everywhere_still_fails_on_its_rule(demo):
    root, chapter, original = demo

    def change(meta):
        # consistent edit of value and verdict in metadata, rule loosened to match
        claim = meta["claims"][2]  # demo-3: an exact value, judged 'reproduced' at 1.0
        claim.update(ours=0.5, per_unit={"0": 0.5}, interval=[0.5, 0.5], smallest_effect=0.4)
        claim["rule"]["effect"].update(smallest=0.4)

    problems = _edit(root, chapter, original, change)
    assert any("judged by a rule other than the one config.py declares" in p for p in problems), problems


def test_a_library_change_makes_the_report_stale(demo):
    root, chapter, _ = demo
    module = root / "shared" / "sensorimotor" / "seeding.py"
    text = module.read_text()
    module.write_text(text + "\n# changed\n")
    try:
        assert any("sensorimotor.seeding changed" in p for p in report_problems(root, chapter))
    finally:
        module.write_text(text)


def test_every_claim_links_to_a_section_of_its_chapter(chapter):
    """The summary links each claim to its section: the label must exist in the chapter source."""
    from sensorimotor.pipeline import read_report_metadata

    source = chapter.source.read_text()
    for claim in read_report_metadata(chapter.report)["claims"]:
        assert claim["section"], f"claim {claim['id']} names no section"
        assert f"({claim['section']})=" in source, f"claim {claim['id']}: no label ({claim['section']})= in {chapter.source.name}"


def test_readme_generated_parts_are_current(chapter):
    """Each chapter README's compute and results part is what its committed report gives."""
    from sensorimotor.pipeline import read_report_metadata
    from sensorimotor.readme_sections import write_readme

    readme = chapter.folder / "README.md"
    meta = read_report_metadata(chapter.report)
    assert write_readme(readme, meta, chapter.name, chapter.session_name, check=True), (
        "run `python -m sensorimotor.pipeline readme`"
    )


def test_readme_section_replaces_only_its_markers(tmp_path):
    from sensorimotor.readme_sections import BEGIN, END, updated_readme

    text = f"# t\n\nintro\n\n{BEGIN}\nold\n{END}\n\ntail\n"
    assert updated_readme(text, f"{BEGIN}\nnew\n{END}") == f"# t\n\nintro\n\n{BEGIN}\nnew\n{END}\n\ntail\n"
    assert updated_readme("# t\n", f"{BEGIN}\nx\n{END}").endswith(f"{BEGIN}\nx\n{END}\n")
