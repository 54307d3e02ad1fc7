import random

import numpy as np
import pytest
import torch

from sensorimotor.seeding import rng, seed_everything, torch_generator


def test_seed_everything_repeats_every_source():
    def draw():
        seed_everything(7)
        return random.random(), np.random.rand(), torch.rand(1).item()

    assert draw() == draw()


def test_seed_everything_rejects_bad_seeds():
    for bad in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match="non-negative int"):
            seed_everything(bad)


def test_named_streams_are_reproducible_and_independent():
    assert rng(0, "data").random() == rng(0, "data").random()
    assert rng(0, "data").random() != rng(0, "model").random()
    assert rng(0, "data", 1).random() != rng(0, "data", 2).random()
    a = torch.rand(3, generator=torch_generator(1, "x"))
    b = torch.rand(3, generator=torch_generator(1, "x"))
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("gmn-train", "gmn-train-z"), ("generation", "generation-z"), ("shape-reader", "shape-reader-init"),
     ("masks-val-full", "masks-val-missing"), ("tabletop-order", "tabletop-split")],
)  # fmt: skip
def test_names_sharing_their_first_eight_bytes_are_different_streams(a, b):
    assert a.encode()[:8] == b.encode()[:8]  # the prefix the old seeding keyed streams by
    assert not np.array_equal(rng(0, a).integers(0, 2**62, 4), rng(0, b).integers(0, 2**62, 4))
    assert np.array_equal(rng(0, a).integers(0, 2**62, 4), rng(0, a).integers(0, 2**62, 4))
    assert not torch.equal(torch.rand(3, generator=torch_generator(0, a)), torch.rand(3, generator=torch_generator(0, b)))
