"""Our multimodal SOM at batch 1 is MiniSom's online SOM (same initial map, order and schedules).

Pins both training paths of ``train_som`` (the NumPy loop for small problems, the torch path for large
ones) to MiniSom (a development dependency) and to each other.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sensorimotor.seeding import torch_generator
from sensorimotor.som_ae import som as msom

minisom = pytest.importorskip("minisom")

SIDE, EPOCHS, SEED = 5, 2, 3
SCHEDULE = msom.SOMSchedule(epochs=EPOCHS, batch_size=1, lr_start=0.5, lr_end=0.01, sigma_start=2.5, sigma_end=0.5)


def _data(n: int, dim: int) -> np.ndarray:
    return np.random.default_rng(0).random((n, dim)).astype(np.float32)


def _ours(data: np.ndarray, schedule: msom.SOMSchedule = SCHEDULE) -> tuple[np.ndarray, np.ndarray, dict]:
    som = msom.MultimodalSOM(SIDE, SIDE, {"x": data.shape[1]})
    tensors = {"x": torch.from_numpy(data)}
    som.initialise(tensors, torch_generator(SEED, "som-init"))
    initial = som.weights["x"].numpy().copy()
    history = msom.train_som(som, tensors, schedule, seed=SEED, initialise=False, progress=False)
    return initial, som.weights["x"].numpy().copy(), history


def _minisom(data: np.ndarray, initial: np.ndarray) -> np.ndarray:
    s = SCHEDULE
    shuffle = torch_generator(SEED, "som-shuffle")
    order = np.concatenate([torch.randperm(len(data), generator=shuffle).numpy() for _ in range(EPOCHS)])

    def decay(start: float, end: float):
        return lambda value, t, total: value * (end / start) ** (t / max(total - 1, 1))

    som = minisom.MiniSom(SIDE, SIDE, data.shape[1], sigma=s.sigma_start, learning_rate=s.lr_start,
                          decay_function=decay(s.lr_start, s.lr_end), activation_distance="manhattan")
    som._sigma_decay_function = decay(s.sigma_start, s.sigma_end)
    som._weights = initial.reshape(SIDE, SIDE, -1).astype(np.float64).copy()
    ordered = data.astype(np.float64)[order]
    som.train(ordered, len(ordered), random_order=False)
    return som._weights.reshape(SIDE * SIDE, -1)


def _winners(weights: np.ndarray, data: np.ndarray) -> np.ndarray:
    return np.abs(data[:, None, :].astype(np.float64) - weights[None].astype(np.float64)).sum(-1).argmin(1)


@pytest.mark.parametrize("dim", [13, 300])
@pytest.mark.parametrize("path", ["numpy", "torch"])
def test_batch_1_is_minisoms_online_som(dim, path, monkeypatch):
    monkeypatch.setattr(msom, "NUMPY_MAX_ELEMENTS", 10**9 if path == "numpy" else 0)
    data = _data(120, dim)
    initial, ours, history = _ours(data)
    assert history["backend"] == path
    reference = _minisom(data, initial)
    assert np.abs(ours - reference).max() < 5e-6
    test = np.random.default_rng(1).random((200, dim)).astype(np.float32)
    np.testing.assert_array_equal(_winners(ours, test), _winners(reference, test))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_numpy_loop_matches_torch_path_with_two_modalities(batch_size, monkeypatch):
    rng = np.random.default_rng(2)
    data = {"code": torch.from_numpy(rng.random((90, 8), dtype=np.float32)),
            "joints": torch.from_numpy(rng.random((90, 5), dtype=np.float32))}
    schedule = msom.SOMSchedule(epochs=2, batch_size=batch_size, sigma_start=2.0)
    maps, histories = {}, {}
    for limit in (10**9, 0):
        monkeypatch.setattr(msom, "NUMPY_MAX_ELEMENTS", limit)
        som = msom.MultimodalSOM(4, 5, {"code": 8, "joints": 5}, {"code": 1.0, "joints": 2.0})
        histories[limit] = msom.train_som(som, data, schedule, seed=1, progress=False)
        maps[limit] = som.state_dict()
    assert histories[10**9]["backend"] == "numpy" and histories[0]["backend"] == "torch"
    for name in data:
        torch.testing.assert_close(maps[10**9][name], maps[0][name], atol=5e-6, rtol=0)
    np.testing.assert_allclose(histories[10**9]["quantisation_error"], histories[0]["quantisation_error"], rtol=1e-5)


def test_break_even_prediction_and_batch_study_are_declared():
    from sensorimotor.profiles import ConfigError, load_chapter_module
    from sensorimotor.verdicts import Rule

    config = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "som_ae" / "config.py")
    assert config.PREDICTED_BREAK_EVEN_NEURONS > 0
    for where in ("below", "above"):
        assert isinstance(config.RULES[f"som-ae-break-even-{where}"], Rule)
        assert config.RULES[f"som-ae-break-even-{where}"].effect.unit == "repeats"
    default = config.som_ae_config("default")
    below, above = default.break_even_sides
    assert below**2 < config.PREDICTED_BREAK_EVEN_NEURONS < above**2  # the timed maps straddle the prediction
    assert 1 in default.batch_study and default.somae_batch_size in default.batch_study
    bad_inputs = ({"break_even_sides": (1, 4)}, {"break_even_sides": (5, 4)}, {"break_even_sides": (4,)},
                  {"timing_repeats": 1}, {"batch_study": ()}, {"batch_study": (0,)}, {"batch_study_plain_epochs": 0})  # fmt: skip
    for bad in bad_inputs:
        with pytest.raises(ConfigError):
            config.som_ae_config("smoke", **bad)
