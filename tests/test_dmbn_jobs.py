"""The DMBN chapter's declared training jobs (issue 29): at the smoke profile they train exactly the networks
the notebook's calls then load, and a job's weights do not depend on the worker that trains it."""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from sensorimotor.cache import cache_events
from sensorimotor.chapters import get_chapter
from sensorimotor.dmbn.authors_data import find_authors_data
from sensorimotor.dmbn.chapter_jobs import (
    authors_data,
    authors_dmbn,
    authors_mvae,
    own_data,
    own_dmbn,
    own_mvae,
    seeds,
)
from sensorimotor.dmbn.evaluation import training_subset
from sensorimotor.jobs import run_jobs
from sensorimotor.pipeline import chapter_config, chapter_job_stages

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = get_chapter(ROOT, "dmbn")


def smoke(**overrides):
    config = chapter_config(CHAPTER, "smoke", 0, overrides)
    return config, chapter_job_stages(CHAPTER, config)


@pytest.fixture(scope="module")
def data_cache(tmp_path_factory) -> Path:
    """A cache holding the smoke profile's data stage (our interactions; the authors' data where present)."""
    folder = tmp_path_factory.mktemp("dmbn-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENSORIMOTOR_CACHE", str(folder))
        run_jobs(smoke()[1][0], workers=2)
    return folder


def use_copy(data_cache: Path, folder: Path, monkeypatch) -> Path:
    shutil.copytree(data_cache, folder)
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(folder))
    return folder


def notebook_networks(cfg) -> list:
    """The training calls of dmbn.md, in its order: each seed's networks on the whole training set, Fig. 5's
    smaller sets, the Image-only networks of 5.7, then the authors' data (where ``authors_data`` finds them)."""
    own = own_data(cfg)
    full = np.arange(len(own.train_idx))
    runs = [own_dmbn(cfg, own, full, s) for s in seeds(cfg, cfg.table1_seeds)]
    runs += [own_mvae(cfg, own, full, s) for s in seeds(cfg, cfg.fig5_seeds)]
    for size in (n for n in cfg.fig5_sizes if n < len(full)):
        for s in seeds(cfg, cfg.fig5_seeds):
            at = training_subset(own.train_actions, size, s)
            runs += [own_dmbn(cfg, own, at, s), own_mvae(cfg, own, at, s)]
    runs += [own_dmbn(cfg, own, full, s, image_only=True) for s in seeds(cfg, cfg.table1_seeds)]
    root = find_authors_data(cfg.authors_data)
    if root is not None:
        a = authors_data(cfg, root)
        a_full = np.arange(len(a.train_idx))
        for s in seeds(cfg, cfg.authors_seeds):
            runs += [authors_dmbn(cfg, a, a_full, s), authors_mvae(cfg, a, a_full, s)]
            for size in cfg.authors_fig5_sizes:
                at = a_full if size >= len(a_full) else training_subset(a.train_actions, size, s)
                runs += [authors_dmbn(cfg, a, at, s), authors_mvae(cfg, a, at, s)]
    return [run for _, run in runs]


def test_the_declared_jobs_train_exactly_the_networks_the_notebook_loads(data_cache, tmp_path, monkeypatch):
    cache = use_copy(data_cache, tmp_path / "cache", monkeypatch)
    cfg, stages = smoke()
    run_jobs(stages[1], workers=2)
    seen = len(cache_events())
    runs = notebook_networks(cfg)
    events = cache_events()[seen:]
    assert all(run.from_cache for run in runs)
    assert [e["entry"] for e in events if e["event"] == "computed"] == []  # the notebook trains nothing
    loaded = {e["entry"] for e in events if e["entry"].startswith("dmbn-models/")}
    written = {f"dmbn-models/{p.name}" for p in (cache / "dmbn-models").glob("*.pt")}
    assert loaded == written and len(written) == len(stages[1])  # one network per job, none left over


def test_without_the_authors_data_no_authors_jobs_are_declared():
    _, stages = smoke(authors_data=None)
    assert [job.name for job in stages[0]] == ["data-own"]
    assert not [job.name for stage in stages for job in stage if job.name.startswith("authors-")]


def test_training_jobs_in_workers_give_the_weights_of_training_in_process(data_cache, tmp_path, monkeypatch):
    """Issue 34: a network's weights must not depend on its place in the job list or on the worker that
    trains it. Two Image+Joint DMBNs (with their Fig. 7 snapshots) in two workers, then in this process."""
    cfg, stages = smoke()
    jobs = [job for job in stages[1] if job.name in ("dmbn-seed0", "dmbn-seed1")]

    def trained(folder: str, in_workers: bool) -> list:
        use_copy(data_cache, tmp_path / folder, monkeypatch)
        if in_workers:
            assert {r.status for r in run_jobs(jobs, workers=2).values()} == {"computed"}
        else:
            for job in jobs:
                module, _, name = job.function.partition(":")
                getattr(importlib.import_module(module), name)(**job.kwargs)
        own = own_data(cfg)
        return [own_dmbn(cfg, own, np.arange(len(own.train_idx)), s) for s in (0, 1)]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a job's worker trains on one thread; more threads reorder float sums
    try:
        workers, here = trained("workers", True), trained("here", False)
    finally:
        torch.set_num_threads(threads)
    for (model_w, run_w), (model_h, run_h) in zip(workers, here, strict=True):
        assert run_w.from_cache and run_h.from_cache
        for name, tensor in model_w.state_dict().items():
            assert torch.equal(tensor, model_h.state_dict()[name]), name
        np.testing.assert_array_equal(run_w.losses, run_h.losses)
        assert sorted(run_w.snapshots) == sorted(run_h.snapshots) == [0, cfg.train_steps]
        for step, codes in run_w.snapshots.items():
            for kind, values in codes.items():
                np.testing.assert_array_equal(values, run_h.snapshots[step][kind])
    first = [next(iter(model.state_dict().values())) for model, _ in workers]
    assert not torch.equal(*first)  # the two seeds differ
