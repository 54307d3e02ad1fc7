"""SOM-AE's declared training jobs: they write the entries the notebook loads, and a worker trains as the kernel does.

One smoke run of the chapter's jobs (its three stages, on the local executor) serves every test: one map
seed and the uncompiled activity kernel keep it short; everything else is the ``smoke`` profile.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from sensorimotor.cache import CACHE_ENV, cache_events
from sensorimotor.jobs import load_result, run_jobs
from sensorimotor.profiles import load_chapter_module
from sensorimotor.som_ae import chapter_jobs, infant_data

ROOT = Path(__file__).resolve().parents[1]
CONFIG = load_chapter_module(ROOT / "replications" / "som_ae" / "config.py")
MODALITIES = (CONFIG.IMAGE, CONFIG.JOINTS)
MAPPINGS = [(*k, CONFIG.MAPPING_LABELS[k]) for k in CONFIG.MAPPINGS]


@pytest.fixture(scope="module")
def smoke_jobs(tmp_path_factory):
    """The chapter's declared jobs at ``smoke`` (one map seed, no compile), run stage by stage on their own cache."""
    folder = tmp_path_factory.mktemp("som-ae-jobs")
    cfg = CONFIG.som_ae_config("smoke", device="cpu", map_seeds=1, compile_distance=False)
    stages = CONFIG.training_jobs(cfg)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(folder))
        statuses = {name: r.status for stage in stages for name, r in run_jobs(stage, workers=2).items()}
    return folder, cfg, stages, statuses


def test_the_jobs_write_exactly_the_entries_the_notebooks_calls_load(smoke_jobs, monkeypatch):
    folder, cfg, stages, statuses = smoke_jobs
    monkeypatch.setenv(CACHE_ENV, str(folder))
    assert [[job.name for job in stage] for stage in stages] == [
        ["som_ae-data"], ["som_ae-autoencoder", "som_ae-map-SOM-seed0"], ["som_ae-map-SOM-AE-seed0", "som_ae-batch-study"],
    ]
    assert set(statuses.values()) == {"computed"}
    jobs = [job for stage in stages for job in stage]
    assert all(job.cpus == (os.cpu_count() or 1) for job in jobs)  # each runs alone
    assert all(job.kwargs["threads"] == cfg.torch_threads for job in jobs if job.name != "som_ae-data")
    trainings = {str(job.path().resolve().relative_to(folder.resolve())) for job in jobs if job.name != "som_ae-data"}
    mtimes = {path: (folder / path).stat().st_mtime_ns for path in trainings}
    before = len(cache_events())

    # what the notebook calls, in its order
    data = infant_data.dataset(chapter_jobs.data_config(cfg), progress=False)
    _, history, cached = chapter_jobs.trained_autoencoder(cfg, "cpu")
    maps = [chapter_jobs.trained_map(cfg, m, s, "cpu", MODALITIES) for m in chapter_jobs.MODELS for s in [cfg.seed]]
    study = chapter_jobs.batch_study(cfg, "cpu", MODALITIES, MAPPINGS)

    events = cache_events()[before:]
    assert {e["event"] for e in events} == {"loaded"}  # nothing trained in this process
    assert {e["entry"] for e in events} == trainings | {e["entry"] for e in events if e["entry"].startswith("infant/")}
    assert sum(e["entry"].startswith("infant/") for e in events) >= 1 and len(data["joints"]) == cfg.n_samples
    assert cached and all(h["cached"] for _, h in maps) and history["seconds"] > 0
    assert set(study) == {f"{m}|{b}" for m in chapter_jobs.MODELS for b in cfg.batch_study}
    assert mtimes == {path: (folder / path).stat().st_mtime_ns for path in trainings}


@pytest.mark.parametrize("name", ["som_ae-autoencoder", "som_ae-map-SOM-AE-seed0"])
def test_a_training_job_gives_the_same_weights_in_a_worker_and_in_process(smoke_jobs, monkeypatch, name):
    folder, _, stages, _ = smoke_jobs
    monkeypatch.setenv(CACHE_ENV, str(folder))
    job = next(job for stage in stages for job in stage if job.name == name)
    in_worker = load_result(job)
    in_process = getattr(chapter_jobs, job.function.partition(":")[2])(**job.kwargs)
    assert in_worker["state"].keys() == in_process["state"].keys()
    assert all(torch.equal(in_worker["state"][k], in_process["state"][k]) for k in in_worker["state"])
    timing = {"seconds", "samples_per_second", "peak_memory_bytes", "added_memory_bytes"}
    assert {k: v for k, v in in_worker["history"].items() if k not in timing} == {
        k: v for k, v in in_process["history"].items() if k not in timing
    }
