"""The chapter pipeline, proven on the small demo notebook in a throw-away project root."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sensorimotor.pipeline import (
    PipelineError,
    discover_chapters,
    parse_parameters,
    prepare_smoke,
    read_report_metadata,
    replicate,
    summary_markdown,
)

DEMO = Path(__file__).parent / "notebooks" / "pipeline_demo"


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "book").mkdir()
    shutil.copytree(DEMO, root / "replications" / "pipeline_demo", ignore=shutil.ignore_patterns("*.ipynb"))
    return root


@pytest.fixture(scope="module")
def demo_report(demo_root) -> Path:
    return replicate(demo_root, "pipeline-demo", profile="smoke", seed=2, overrides={"n_samples": 50}, progress=False)


def test_report_carries_provenance_and_claims(demo_root, demo_report):
    assert demo_report == demo_root / "book" / "chapters" / "pipeline_demo.ipynb"
    meta = read_report_metadata(demo_report)
    assert (meta["profile"], meta["seed"], meta["overrides"]) == ("smoke", 2, {"n_samples": 50})
    for key in ("source_sha256", "config_sha256", "git_commit", "packages", "hardware", "wall_seconds"):
        assert key in meta
    assert meta["packages"]["torch"] and meta["hardware"]["cpu_count"] >= 1
    assert [c["id"] for c in meta["claims"]] == ["demo-1"]
    assert meta["claims"][0]["verdict"] in {"reproduced", "partly", "not reproduced"}
    assert "demo-1" in (demo_root / "book" / "summary.md").read_text()


def test_failed_run_leaves_the_previous_report_untouched(demo_root, demo_report):
    before = demo_report.read_bytes()
    with pytest.raises(PipelineError, match=r"failed at profile 'smoke'.*failing on purpose.*left untouched"):
        replicate(demo_root, "pipeline_demo", profile="smoke", overrides={"fail_on_purpose": True}, progress=False)
    assert demo_report.read_bytes() == before
    assert (demo_root / "build" / "failed" / "pipeline_demo.ipynb").exists()
    assert not list(demo_report.parent.glob(".*tmp"))


def test_bad_chapter_profile_and_override_fail_before_running(demo_root):
    with pytest.raises(PipelineError, match=r"unknown chapter 'nosuch'; valid chapters: pipeline-demo"):
        replicate(demo_root, "nosuch")
    with pytest.raises(PipelineError, match=r"unknown profile 'nosuch'; accepted profiles: smoke, default, paper"):
        replicate(demo_root, "pipeline_demo", profile="nosuch")
    with pytest.raises(PipelineError, match=r"unknown override\(s\) \['n'\].*accepted: .*n_samples"):
        replicate(demo_root, "pipeline_demo", overrides={"n": 1})


def test_parameters_parse_to_json_types():
    assert parse_parameters(["a=3", "b=1e-3", "c=true", "d=abc", "e=[1, 2]"]) == {
        "a": 3, "b": 0.001, "c": True, "d": "abc", "e": [1, 2],
    }  # fmt: skip
    for bad in ("novalue", "=3", "two words=1"):
        with pytest.raises(PipelineError, match="bad parameter"):
            parse_parameters([bad])


def test_prepare_smoke_injects_the_smoke_profile(demo_root):
    (written,) = prepare_smoke(demo_root)
    notebook = nbformat.read(written, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'profile = "smoke"' in injected[0].source
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")


def test_command_line_errors_are_clear(demo_root):
    def run(*args):
        return subprocess.run(
            [sys.executable, "-m", "sensorimotor.pipeline", "--root", str(demo_root), *args],
            capture_output=True, text=True,
        )  # fmt: skip

    out = run("replicate", "nosuch")
    assert out.returncode == 2 and "unknown chapter 'nosuch'; valid chapters: pipeline-demo" in out.stderr
    out = run("replicate", "pipeline_demo", "--profile", "nosuch")
    assert out.returncode == 2 and "accepted profiles: smoke, default, paper" in out.stderr
    assert "pipeline_demo" in run("list").stdout


def test_summary_lists_chapters_without_reports(tmp_path):
    (tmp_path / "book").mkdir()
    shutil.copytree(DEMO, tmp_path / "replications" / "pipeline_demo", ignore=shutil.ignore_patterns("*.ipynb"))
    assert list(discover_chapters(tmp_path)) == ["pipeline_demo"]
    assert "without a committed report yet: pipeline_demo" in summary_markdown(tmp_path)


def test_nox_rejects_unknown_chapter_sessions(project_root):
    out = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "replicate-nosuch"], cwd=project_root, capture_output=True, text=True
    )
    assert out.returncode != 0
    assert "unknown chapter session 'replicate-nosuch'; valid:" in out.stderr
    assert "replicate-all" in out.stderr
