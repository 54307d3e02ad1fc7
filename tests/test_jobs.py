"""The jobs layer on the local executor: cached results, failures, killed workers, corrupt entries."""

from __future__ import annotations

import json
import logging
import sys

import pytest
import torch

from sensorimotor.jobs import Job, JobError, job_seconds, load_result, load_results, map_jobs, run_jobs

TRAIN = "sensorimotor.job_examples:train_tiny_mlp"


def tiny(name: str, seed: int = 0, steps: int = 5) -> Job:
    return Job(name, TRAIN, {"steps": steps, "width": 4, "n": 16, "seed": seed}, namespace="test-jobs")


def test_missing_jobs_run_once_then_load_from_the_cache():
    jobs = [tiny("a", 0), tiny("b", 1)]
    first = run_jobs(jobs, workers=2)
    assert {n: r.status for n, r in first.items()} == {"a": "computed", "b": "computed"}
    assert all(r.path.exists() for r in first.values())
    again = run_jobs(jobs, workers=2)
    assert {n: r.status for n, r in again.items()} == {"a": "cached", "b": "cached"}
    a, b = load_result(jobs[0]), load_result(jobs[1])
    assert not torch.equal(a["state_dict"]["0.weight"], b["state_dict"]["0.weight"])  # seeded by the arguments
    assert set(load_results(jobs, run_missing=False)) == {"a", "b"}
    assert [job_seconds(job) for job in jobs] == [first["a"].seconds, first["b"].seconds]  # kept for a resumed run


def test_the_local_executor_runs_a_job_asking_for_every_cpu_alone(tmp_path):
    """A job's ``cpus`` is honoured locally too: a 2-CPU job shares 2 workers with no other job, while two
    1-CPU jobs run together (each waits up to 300 s for the other's mark: a worker can take a minute to start
    on a loaded machine; so both checks can fail, the second only after that wait)."""
    overlap = "sensorimotor.job_examples:note_overlap"

    def job(name, partner="", cpus=1):
        kwargs = {"folder": str(tmp_path), "name": name, "partner": partner, "seconds": 1.0, "wait": 300.0}
        return Job(name, overlap, kwargs, namespace="test-jobs", cpus=cpus)

    run_jobs([job("wide", cpus=2), job("a", "b"), job("b", "a")], workers=2)
    seen = {n: json.loads((tmp_path / n).read_text()) for n in ("wide", "a", "b")}
    assert seen["wide"]["others"] == []  # it ran alone
    assert seen["a"]["partner_seen"] and seen["b"]["partner_seen"]  # the narrow ones ran together
    assert seen["a"]["others"] == seen["b"]["others"] == []


def test_a_failing_job_names_itself_its_arguments_and_the_worker_traceback():
    bad = Job("bad", "sensorimotor.job_examples:fail_on_purpose", {"message": "boom"}, namespace="test-jobs")
    with pytest.raises(JobError) as caught:
        run_jobs([tiny("ok"), bad], workers=2)
    text = str(caught.value)
    assert "job bad (sensorimotor.job_examples:fail_on_purpose, kwargs {'message': 'boom'}) failed" in text
    assert "in fail_on_purpose" in text and "ValueError: boom" in text
    assert caught.value.results["ok"].status == "computed" and tiny("ok").path().exists()  # the other job saved
    assert not bad.path().exists()


def test_a_killed_job_leaves_no_entry_and_only_it_runs_again(tmp_path):
    killer = Job("killer", "sensorimotor.job_examples:die_once", {"marker": str(tmp_path / "marker")},
                 namespace="test-jobs")  # fmt: skip
    with pytest.raises(JobError, match=r"job killer .* failed"):
        run_jobs([tiny("ok"), killer], workers=1)
    assert (tmp_path / "marker").exists()  # it did start, and was killed
    assert tiny("ok").path().exists() and not killer.path().exists()
    assert not list(killer.path().parent.glob(".*tmp"))
    again = run_jobs([tiny("ok"), killer], workers=1)
    assert {n: r.status for n, r in again.items()} == {"ok": "cached", "killer": "computed"}
    assert torch.equal(load_result(killer)["value"], torch.ones(1))


def test_mapped_chunks_are_the_same_in_workers_and_in_process_and_leave_no_entries():
    import numpy as np

    config = {"n_scenes": 3, "n_views": 2, "image_size": 8, "supersample": 1, "n_parts": [2], "split": "test", "seed": 0}
    chunks = [{"config": config, "start": i, "stop": i + 1} for i in range(3)]
    function = "sensorimotor.gmn.scenes:scene_chunk"
    in_workers = map_jobs(function, chunks, "test-chunks", workers=2)
    in_process = map_jobs(function, chunks, "test-chunks", workers=1)
    assert len(in_workers) == 3 and all(a.keys() == b.keys() for a, b in zip(in_workers, in_process, strict=True))
    for a, b in zip(in_workers, in_process, strict=True):
        assert all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)
    assert not np.array_equal(in_workers[0]["images"], in_workers[1]["images"])  # each scene its own stream
    assert not list(Job("x", function, namespace="test-chunks").path().parent.glob("*.npz"))  # entries deleted


def test_a_corrupt_entry_is_reported_by_name_and_recomputed(caplog):
    job = tiny("fragile")
    run_jobs([job], workers=1)
    before = load_result(job)["state_dict"]
    good = job.path().read_bytes()
    job.path().write_bytes(good[: len(good) // 2])
    with caplog.at_level(logging.WARNING, logger="sensorimotor.jobs"):
        result = run_jobs([job], workers=1)
    assert result["fragile"].status == "recomputed"
    assert "job fragile" in caplog.text and "corrupt" in caplog.text
    after = load_result(job)["state_dict"]  # the same job gives the same weights again
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_an_unwritable_cache_fails_before_any_job_starts(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(blocker / "cache"))
    killer = Job("killer", "sensorimotor.job_examples:die_once", {"marker": str(tmp_path / "marker")})
    with pytest.raises(JobError, match=r"cache folder .*not-a-folder/cache is not writable.*set SENSORIMOTOR_CACHE"):
        run_jobs([killer], workers=1)
    assert not (tmp_path / "marker").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Job("x", "no_colon_here"), r"function 'no_colon_here'; accepted: 'package.module:function'"),
        (lambda: Job("x", TRAIN, {"steps": (1, 2)}), r"must survive JSON unchanged"),
        (lambda: Job("x", TRAIN, {"lr": float("nan")}), r"not plain JSON values"),
        (lambda: Job("x", TRAIN, {"f": print}), r"not plain JSON values"),
        (lambda: Job("x", TRAIN, cpus=0), r"cpus=0; accepted: an int >= 1"),
        (lambda: Job("x", TRAIN, suffix=".pkl"), r"suffix '.pkl'; accepted: .pt, .npz"),
        (lambda: Job("x", "os.path:join").path(), r"job x: 'os.path' is not a module of the sensorimotor .*code=\(\.\.\.\)"),
        (lambda: run_jobs([tiny("a")], executor="dask"), r"executor='dask'; accepted: local, ray"),
        (lambda: run_jobs([tiny("a")], workers=0), r"workers=0; accepted: an int >= 1"),
        (lambda: run_jobs([tiny("a"), tiny("a", 1)]), r"repeated: \['a'\]"),
        (lambda: run_jobs([tiny("a")], ray_address="h:6379"), r"needs executor='ray'"),
    ],
)
def test_bad_jobs_and_options_are_refused_with_what_is_accepted(make, message):
    with pytest.raises(JobError, match=message):
        make()


def test_without_ray_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(JobError, match=r'pip install -e "\.\[cluster\]"'):
        run_jobs([tiny("a")], executor="ray")
    assert not tiny("a").path().exists()


def test_a_missing_result_is_not_loaded_silently():
    with pytest.raises(JobError, match=r"job nothing: no cached result"):
        load_result(tiny("nothing", seed=99))
    with pytest.raises(JobError, match=r"no cached result"):
        load_results([tiny("nothing", seed=99)], run_missing=False)
