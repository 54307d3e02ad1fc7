"""The chapter pipeline, proven on the small demo notebook in a throw-away project root."""

from __future__ import annotations

import json
import re
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


def make_demo_root(root: Path) -> Path:
    """A throw-away project holding the demo notebook as its only chapter (library linked in)."""
    (root / "book").mkdir()
    shutil.copytree(DEMO, root / "replications" / "pipeline_demo", ignore=shutil.ignore_patterns("*.ipynb"))
    (root / "shared").symlink_to(Path(__file__).resolve().parents[1] / "shared")
    return root


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    return make_demo_root(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def demo_report(demo_root, tmp_path_factory) -> Path:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MPLBACKEND", "Agg")  # as CI sets it: the report must still hold its figures
        # a module fixture runs before the per-test cache of conftest: its training job gets its own
        patch.setenv("SENSORIMOTOR_CACHE", str(tmp_path_factory.mktemp("demo-cache")))
        return replicate(demo_root, "pipeline-demo", progress=False)


def test_report_carries_provenance_and_claims(demo_root, demo_report):
    assert demo_report == demo_root / "book" / "chapters" / "pipeline_demo.ipynb"
    meta = read_report_metadata(demo_report)
    assert (meta["profile"], meta["seed"], meta["overrides"]) == ("default", 0, {})
    for key in ("source_sha256", "config_sha256", "git_commit", "packages", "hardware", "wall_seconds",
                "library_modules", "cold", "cold_wall_seconds", "cache"):  # fmt: skip
        assert key in meta
    assert meta["packages"]["torch"] and meta["hardware"]["cpu_count"] >= 1
    assert "sensorimotor.verdicts" in meta["library_modules"] and "sensorimotor.seeding" in meta["library_modules"]
    assert meta["cold"] is True and meta["cold_wall_seconds"] == meta["wall_seconds"]
    assert [c["id"] for c in meta["claims"]] == ["demo-1", "demo-2", "demo-3"]
    by_id = {c["id"]: c for c in meta["claims"]}
    assert by_id["demo-2"]["verdict"] == "reproduced" and len(by_id["demo-2"]["per_unit"]) == 3
    assert by_id["demo-3"]["kind"] == "consistency"
    assert "demo-1" in (demo_root / "book" / "summary.md").read_text()
    assert (demo_root / "book" / "figures" / "summary" / "claims_overview.png").exists()
    notebook = nbformat.read(demo_report, as_version=4)
    assert "kernel_provenance" not in notebook.cells[-1].source  # the provenance cell is stripped
    from test_report_hygiene import missing_figures

    assert missing_figures(notebook) == []  # drawn inline although the tests run with MPLBACKEND=Agg
    json.dumps(notebook.metadata, allow_nan=False)


def test_a_failed_instrument_check_reads_inconclusive_end_to_end(demo_root):
    report = replicate(demo_root, "pipeline_demo", profile="smoke", overrides={"noise_sd": 0.0}, progress=False)
    assert report.parent == demo_root / "build" / "reports"  # not the committed report
    claims = {c["id"]: c for c in read_report_metadata(report)["claims"]}
    assert claims["demo-2"]["verdict"] == "inconclusive"
    assert claims["demo-2"]["cause"] == "prerequisite failed: sample sd near 1"


def test_non_book_runs_never_overwrite_the_committed_report(demo_root, demo_report):
    before = demo_report.read_bytes()
    summary = (demo_root / "book" / "summary.md").read_bytes()
    report = replicate(demo_root, "pipeline_demo", profile="smoke", seed=3, progress=False)
    assert report == demo_root / "build" / "reports" / "pipeline_demo-smoke-seed3.ipynb"
    assert demo_report.read_bytes() == before and (demo_root / "book" / "summary.md").read_bytes() == summary
    explicit = replicate(demo_root, "pipeline_demo", profile="smoke", output=demo_root / "x.ipynb", progress=False)
    assert explicit == demo_root / "x.ipynb" and demo_report.read_bytes() == before


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


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (["seed=3"], r"'seed' cannot be set with -p; use --seed"),
        (["profile=paper"], r"'profile' cannot be set with -p; use --profile"),
        (["noise_sd=NaN"], r"noise_sd='NaN' is not a finite number"),
        (["noise_sd=1e999"], r"not a finite number"),
        (["n_samples=-5"], r"n_samples=-5; accepted: > 0"),
        (["device=tpu"], r"device='tpu'; accepted: auto, cpu, cuda, cuda:N, mps"),
        (["n_samples=many"], r"n_samples='many' has type str"),
    ],
)
def test_bad_input_fails_before_the_kernel_starts(demo_root, params, message):
    out = subprocess.run(
        [sys.executable, "-m", "sensorimotor.pipeline", "--root", str(demo_root), "replicate", "pipeline_demo",
         *(a for p in params for a in ("-p", p))],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert re.search(message, out.stderr), out.stderr
    assert "Executing" not in out.stderr and "Traceback" not in out.stderr


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
