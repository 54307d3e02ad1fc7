import numpy as np
import pytest
import torch

from sensorimotor.cache import (
    CacheError,
    atomic_path,
    cache_events,
    cache_path,
    cache_root,
    cached_arrays,
    clean_stale_temporaries,
    load_arrays,
    load_torch,
    save_torch,
)
from sensorimotor.provenance import closure, code_hash

CODE = "sensorimotor.cache"


def test_cache_root_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_cached_arrays_compute_once_and_key_by_config():
    calls = []

    def make():
        calls.append(1)
        return {"x": np.arange(5)}

    first = cached_arrays("unit", {"n": 5}, make, code=CODE)
    second = cached_arrays("unit", {"n": 5}, make, code=CODE)
    cached_arrays("unit", {"n": 6}, make, code=CODE)
    assert len(calls) == 2
    np.testing.assert_array_equal(first["x"], second["x"])


def test_atomic_path_writes_with_the_usual_permissions(tmp_path):
    import os
    import stat

    with atomic_path(tmp_path / "report.ipynb") as tmp:
        tmp.write_text("{}")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "report.ipynb").stat().st_mode) == 0o666 & ~mask


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.bin"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_corrupt_entries_raise_a_clear_error():
    path = cache_path("unit", {"k": 1}, ".npz", code=CODE)
    path.write_bytes(b"not a zip")
    with pytest.raises(CacheError, match=r"unreadable.*delete it"):
        load_arrays(path)
    ckpt = cache_path("unit", {"k": 2}, ".pt", code=CODE)
    ckpt.write_bytes(b"garbage")
    with pytest.raises(CacheError, match="unreadable"):
        load_torch(ckpt)


class Custom:
    """Not a tensor container: weights_only loading must refuse it."""


def test_torch_round_trip_uses_weights_only(tmp_path):
    state = {"w": torch.ones(2, 3)}
    save_torch(tmp_path / "m.pt", state)
    assert torch.equal(load_torch(tmp_path / "m.pt")["w"], state["w"])

    torch.save({"obj": Custom()}, tmp_path / "pickled.pt")
    with pytest.raises(CacheError):
        load_torch(tmp_path / "pickled.pt")


def test_bad_namespace_is_refused():
    with pytest.raises(ValueError, match="bad cache namespace"):
        cache_path("../escape", {}, ".npz", code=CODE)


def _fake_package(root, body: str):
    """A throw-away copy of a tiny package laid out like ``sensorimotor``."""
    pkg = root / "sensorimotor"
    (pkg / "dmbn").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "seeding.py").write_text("SEED = 0\n")
    (pkg / "dmbn" / "__init__.py").write_text("")
    (pkg / "dmbn" / "training.py").write_text("from sensorimotor.seeding import SEED\n" + body)
    return pkg


def test_a_library_change_invalidates_the_entries_it_produced(tmp_path):
    pkg = _fake_package(tmp_path, "def train():\n    return 1\n")
    assert closure(["sensorimotor.dmbn.training"], pkg) == [
        "sensorimotor", "sensorimotor.dmbn", "sensorimotor.dmbn.training", "sensorimotor.seeding"]  # fmt: skip
    before = code_hash(["sensorimotor.dmbn.training"], pkg)
    (pkg / "dmbn" / "training.py").write_text("from sensorimotor.seeding import SEED\ndef train():\n    return 2\n")
    changed_module = code_hash(["sensorimotor.dmbn.training"], pkg)
    (pkg / "seeding.py").write_text("SEED = 1\n")
    changed_import = code_hash(["sensorimotor.dmbn.training"], pkg)
    assert len({before, changed_module, changed_import}) == 3


def test_cache_keys_hold_the_producing_code(monkeypatch):
    import sensorimotor.cache as cache_module

    first = cache_path("unit", {"k": 1}, ".npz", code=CODE)
    assert first == cache_path("unit", {"k": 1}, ".npz", code=CODE)
    assert first != cache_path("unit", {"k": 1}, ".npz", code="sensorimotor.seeding")
    real = cache_module.code_hash
    monkeypatch.setattr(cache_module, "code_hash", lambda names: real(names) + "-edited")
    assert cache_path("unit", {"k": 1}, ".npz", code=CODE) != first


def test_callers_outside_the_library_must_name_the_code():
    with pytest.raises(ValueError, match=r"code=\[...\]"):
        cache_path("unit", {"k": 1}, ".npz")


def test_loads_and_computations_are_logged():
    start = len(cache_events())
    cached_arrays("unit", {"n": 7}, lambda: {"x": np.arange(3)}, code=CODE)
    cached_arrays("unit", {"n": 7}, lambda: {"x": np.arange(3)}, code=CODE)
    assert [e["event"] for e in cache_events()[start:]] == ["computed", "loaded"]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    import os
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    stale = tmp_path / f".entry.npz.abc123.{proc.pid}.tmp"
    live = tmp_path / f".entry.npz.def456.{os.getpid()}.tmp"
    stale.write_bytes(b"half")
    live.write_bytes(b"being written")
    assert clean_stale_temporaries(tmp_path, force=True) == [stale]
    assert live.exists() and not stale.exists()


def test_the_profiles_module_is_in_no_cache_key():
    """Editing profiles.py (chapter knobs' machinery) retrains nothing: no entry's code hash holds it."""
    for producer in ("sensorimotor.cache", "sensorimotor.jobs", "sensorimotor.gmn.training", "sensorimotor.dmbn.training"):
        keyed = closure([producer])
        assert "sensorimotor.hashing" in keyed and "sensorimotor.profiles" not in keyed, producer
