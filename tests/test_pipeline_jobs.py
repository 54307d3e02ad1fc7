"""The pipeline with training jobs, the paper-on-CPU guard and the two levels of staleness, on the demo."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from sensorimotor import pipeline
from sensorimotor.book_pages import training_words
from sensorimotor.pipeline import (
    PipelineError,
    check_paper_on_cpu,
    discover_chapters,
    read_report_metadata,
    regeneration_needed,
    replicate,
    report_problems,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = Path(__file__).parent / "notebooks" / "pipeline_demo"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A project holding the demo chapter and a copy of the library (edited by the tests), run once
    cold and once warm on its own cache."""
    root = tmp_path_factory.mktemp("jobs-project")
    (root / "book").mkdir()
    shutil.copytree(DEMO, root / "replications" / "pipeline_demo", ignore=shutil.ignore_patterns("*.ipynb"))
    shutil.copytree(ROOT / "shared" / "sensorimotor", root / "shared" / "sensorimotor",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENSORIMOTOR_CACHE", str(tmp_path_factory.mktemp("jobs-cache")))
        report = replicate(root, "pipeline_demo", progress=False, workers=1)
        cold = read_report_metadata(report)
        replicate(root, "pipeline_demo", progress=False, workers=1)
    chapter = discover_chapters(root)["pipeline_demo"]
    return root, chapter, cold, report.read_bytes()


def test_training_jobs_run_before_the_notebook_which_only_loads(demo):
    _, _, cold, _ = demo
    assert cold["executor"] == "local" and list(cold["jobs"]) == ["demo-mlp-0"]
    assert cold["regeneration"] == "cold" and cold["cold"] is True
    trained = [e for e in cold["cache"]["computed"] if e.startswith("demo-mlp/")]
    assert len(trained) == 1  # written by the jobs layer before the kernel started, read by the notebook
    assert "sensorimotor.job_examples" in cold["cache_producers"] and "sensorimotor.jobs" in cold["cache_producers"]
    assert "sensorimotor.seeding" in cold["cache_key_modules"] and "sensorimotor.verdict_display" not in cold["cache_key_modules"]
    # writing the rules' lock or the README atomically does not make a module a cache producer
    assert not {"sensorimotor.prereg", "sensorimotor.verdicts", "sensorimotor.readme_sections"} & set(cold["cache_key_modules"])
    assert cold["training"]["jobs"] == 1 and cold["training"]["computed_here"] == 1 and cold["training"]["unrecorded"] == 0
    assert cold["training"]["job_seconds"] > 0  # the job's own time, kept to the millisecond


def test_a_warm_regeneration_keeps_the_cold_time(demo):
    _, chapter, cold, _ = demo
    warm = read_report_metadata(chapter.report)
    assert warm["regeneration"] == "warm" and warm["cold"] is False
    assert warm["cold_wall_seconds"] == cold["cold_wall_seconds"] == cold["wall_seconds"]
    assert any(e.startswith("demo-mlp/") for e in warm["cache"]["loaded"])
    assert not any(e.startswith("demo-mlp/") for e in warm["cache"]["computed"])
    # the training's compute is still stated, from the record its entry keeps
    assert warm["training"]["computed_here"] == 0 and warm["training"]["job_seconds"] == cold["training"]["job_seconds"]
    assert "all loaded from the cache" in training_words(warm["training"])


def test_the_bound_on_more_cpus_follows_the_machine_not_a_warm_run_s_workers():
    record = {"jobs": 4, "computed_here": 0, "job_seconds": 2400.0, "longest_job_seconds": 300.0, "workers": 1,
              "wall_seconds": 1.0, "unrecorded": 0}  # fmt: skip
    assert "on 4 CPUs at least 10.0 min" in training_words(record, cpus=2)  # 2400 s over 4 CPUs, above the longest job
    assert "on 2 CPUs at least 20.0 min" in training_words(record)  # no machine given: the run's workers
    assert "on 16 CPUs at least 5.0 min" in training_words(record, cpus=8)  # the longest job bounds it


def _with_edit(path: Path, change, check):
    text = path.read_text()
    path.write_text(change(text))
    try:
        return check()
    finally:
        path.write_text(text)


def _levels(root, chapter):
    return report_problems(root, chapter), regeneration_needed(root, chapter)


@pytest.mark.parametrize(
    ("module", "level"),
    [
        ("verdict_display.py", "re-evaluate"),  # judging only: no cache key holds it
        ("verdicts.py", "re-evaluate"),  # the rules' judge (also imported by prereg, which writes the lock)
        ("profiles.py", "re-evaluate"),  # knobs' machinery: config_hash lives in hashing.py, in no key through it
        ("summary_figure.py", None),  # not imported by the kernel: no problem at all
        ("job_examples.py", "retrain"),  # the training job's own code
        ("seeding.py", "retrain"),  # imported by the jobs layer that writes the weights
    ],
)
def test_a_library_change_says_which_level_the_report_needs(demo, module, level):
    root, chapter, _, _ = demo
    assert regeneration_needed(root, chapter) is None
    path = root / "shared" / "sensorimotor" / module
    problems, needed = _with_edit(path, lambda t: t + "\n# changed\n", lambda: _levels(root, chapter))
    assert needed == level, problems
    name = "sensorimotor." + module.removesuffix(".py")
    if level is not None:
        assert any(f"{name} changed after the report" in p and f"level: {level}" in p for p in problems), problems


@pytest.mark.parametrize(
    ("change", "level"),
    [
        (lambda t: t + "\n# a comment\n", "re-evaluate"),
        (lambda t: t.replace("Prerequisite(Bar(0.8)", "Prerequisite(Bar(0.75)"), "re-evaluate"),
        (lambda t: t.replace("train_steps: int = 20", "train_steps: int = 21"), "retrain"),
        (lambda t: t.replace('"width": 8', '"width": 9'), "retrain"),  # a job's arguments, same knobs
    ],
    ids=["comment", "rule", "knob", "job-arguments"],
)
def test_a_config_change_says_which_level_the_report_needs(demo, change, level):
    root, chapter, _, _ = demo
    problems, needed = _with_edit(chapter.config_path, change, lambda: _levels(root, chapter))
    assert any("config.py changed after the report" in p and f"level: {level}" in p for p in problems), problems
    assert needed == level


def test_a_source_edit_needs_a_re_evaluation(demo):
    root, chapter, _, _ = demo
    problems, needed = _with_edit(chapter.source, lambda t: t + "\nMore text.\n", lambda: _levels(root, chapter))
    assert needed == "re-evaluate" and any("pipeline_demo.md changed" in p for p in problems)


def test_a_report_that_records_no_cache_keys_is_treated_as_needing_a_retrain(demo):
    root, chapter, _, original = demo
    notebook = nbformat.reads(original.decode(), as_version=4)
    for key in ("cache_key_modules", "cache_producers", "config", "jobs"):
        del notebook.metadata["sensorimotor"][key]
    nbformat.write(notebook, str(chapter.report))
    try:
        assert regeneration_needed(root, chapter) is None  # unchanged tree: still fresh
        path = root / "shared" / "sensorimotor" / "verdict_display.py"
        problems, needed = _with_edit(path, lambda t: t + "\n# changed\n", lambda: _levels(root, chapter))
        assert needed == "retrain" and any("level: retrain" in p for p in problems)
    finally:
        chapter.report.write_bytes(original)


def test_previous_cold_time_survives_only_changes_outside_the_cache_keys(demo):
    _, chapter, _, _ = demo
    meta = read_report_metadata(chapter.report)
    keys = {k: meta[k] for k in ("cache_key_modules", "config", "jobs")}
    hashes = {"config_sha256": "changed", "source_sha256": "changed"}
    modules = dict(meta["library_modules"])
    keep = pipeline._previous_cold_time(chapter.report, hashes, {**modules, "sensorimotor.verdict_display": "0" * 64}, keys)
    assert keep == meta["cold_wall_seconds"]
    changed = {**modules, "sensorimotor.seeding": "0" * 64}
    assert pipeline._previous_cold_time(chapter.report, hashes, changed, keys) is None
    assert pipeline._previous_cold_time(chapter.report, hashes, modules, {**keys, "config": {}}) is None


def test_paper_profile_without_a_gpu_stops_before_any_work(demo, monkeypatch):
    root, chapter, _, _ = demo
    monkeypatch.setattr(pipeline, "_cuda_available", lambda: False)
    before = chapter.report.read_bytes()
    with pytest.raises(PipelineError, match=r"chapter pipeline_demo: --profile paper on a machine without a CUDA GPU "
                                            r"would take many hours on CPU; nothing was run.*--allow-cpu"):  # fmt: skip
        replicate(root, "pipeline_demo", profile="paper", progress=False)
    assert not (root / "build" / "reports").exists() and chapter.report.read_bytes() == before
    estimate = _with_edit(chapter.config_path, lambda t: t + "\nPAPER_CPU_HOURS = 3.5\n",
                          lambda: pytest.raises(PipelineError, check_paper_on_cpu, chapter, "paper", False))  # fmt: skip
    assert "would take about 3.5 hours on CPU" in str(estimate.value)
    check_paper_on_cpu(chapter, "paper", allow_cpu=True)  # allowed: no error
    check_paper_on_cpu(chapter, "default", allow_cpu=False)
    monkeypatch.setattr(pipeline, "_cuda_available", lambda: True)
    check_paper_on_cpu(chapter, "paper", allow_cpu=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--executor", "dask"], r"argument --executor: invalid choice: 'dask'"),
        (["--ray-address", "head:6379"], r"--ray-address head:6379 needs --executor ray"),
        (["--workers", "0"], r"workers=0; accepted: an int >= 1"),
    ],
)
def test_bad_executor_options_fail_before_any_work(demo, args, message):
    root, _, _, _ = demo
    out = subprocess.run(
        [sys.executable, "-m", "sensorimotor.pipeline", "--root", str(root), "replicate", "pipeline_demo", *args],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 2 and re.search(message, out.stderr), out.stderr


def test_nox_installs_ray_when_a_replicate_session_asks_for_it(project_root, monkeypatch):
    monkeypatch.syspath_prepend(str(project_root))
    noxfile = __import__("noxfile")
    assert noxfile._extras(["--executor", "ray", "--ray-address", "h:6379"]) == "dev,cluster"
    assert noxfile._extras(["--executor=ray"]) == "dev,cluster"
    assert noxfile._extras(["--profile", "smoke"]) == "dev"


def test_run_words_tell_cold_resumed_and_warm_runs_apart():
    from sensorimotor.book_pages import run_words

    training = {"jobs": 31, "job_seconds": 100.0, "workers": 2, "wall_seconds": 50.0}
    assert run_words({"cold": True, "training": {**training, "computed_here": 31}}).startswith("cold")
    resumed = run_words({"cold": False, "training": {**training, "computed_here": 16}})
    assert resumed.startswith("resumed: 16 of 31 training jobs")
    assert run_words({"cold": False, "training": {**training, "computed_here": 0}}).startswith("warm")
    assert run_words({"cold": False}).startswith("warm")  # a report from before the training record
