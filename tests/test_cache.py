import numpy as np
import pytest
import torch

from sensorimotor.cache import (
    CacheError,
    atomic_path,
    cache_path,
    cache_root,
    cached_arrays,
    load_arrays,
    load_torch,
    save_torch,
)


def test_cache_root_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path / "c"))
    assert cache_root() == tmp_path / "c" and (tmp_path / "c").is_dir()


def test_cached_arrays_compute_once_and_key_by_config():
    calls = []

    def make():
        calls.append(1)
        return {"x": np.arange(5)}

    first = cached_arrays("unit", {"n": 5}, make)
    second = cached_arrays("unit", {"n": 5}, make)
    cached_arrays("unit", {"n": 6}, make)
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
    path = cache_path("unit", {"k": 1}, ".npz")
    path.write_bytes(b"not a zip")
    with pytest.raises(CacheError, match=r"unreadable.*delete it"):
        load_arrays(path)
    ckpt = cache_path("unit", {"k": 2}, ".pt")
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
        cache_path("../escape", {}, ".npz")
