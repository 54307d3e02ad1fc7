"""GMN models: product of Gaussians, the three inference schemes, likelihood estimates and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sensorimotor.gmn.convdraw import gaussian_kl, gaussian_log_density, product_of_gaussians
from sensorimotor.gmn.evaluation import paper_parameter_counts
from sensorimotor.gmn.model import GMN, SCHEMES, GMNArch, ModalitySpec, count_parameters
from sensorimotor.gmn.scenes import modality_split

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest


TINY = GMNArch(r_channels=8, lstm_channels=8, z_channels=2, draw_steps=2, decoder_channels=4, tower_channels=8, haptic_hidden=16)
PAPER = GMNArch(r_channels=256, lstm_channels=64, z_channels=3, draw_steps=12, decoder_channels=32, tower_channels=256,
                haptic_hidden=512)  # fmt: skip
MODS = modality_split(2, 16)


def pairs(n_per_scene: int, n_scenes: int, shape, query_dim: int = 7, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = n_per_scene * n_scenes
    return (torch.rand((n, *shape), generator=g), torch.randn(n, query_dim, generator=g),
            torch.arange(n_scenes).repeat_interleave(n_per_scene))  # fmt: skip


def batch(n_scenes=3, n_context=2, n_target=2):
    image, haptic = (3, 16, 16), (59,)
    context = {"image": pairs(n_context, n_scenes, image, seed=1), "haptic": pairs(n_context, n_scenes, haptic, seed=2)}
    target = {"image": pairs(n_target, n_scenes, image, seed=3), "haptic": pairs(n_target, n_scenes, haptic, seed=4)}
    return context, target


# ---------------------------------------------------------------------------------------------- PoE


def test_product_of_two_gaussians_matches_the_closed_form():
    m1, v1, m2, v2 = 0.3, 0.5, -1.2, 2.0
    mean, logvar = product_of_gaussians(torch.tensor([[m1], [m2]]), torch.log(torch.tensor([[v1], [v2]])), dim=0)
    var = 1 / (1 / v1 + 1 / v2)
    assert float(torch.exp(logvar)) == pytest.approx(var)
    assert float(mean) == pytest.approx(var * (m1 / v1 + m2 / v2))


def test_product_of_gaussians_matches_the_normalised_product_of_densities():
    means, logvars = torch.tensor([0.5, -0.4, 1.5]), torch.tensor([0.2, -0.7, 1.1])
    x = torch.linspace(-8, 8, 200001, dtype=torch.float64)
    density = torch.exp(sum(gaussian_log_density(x, m.double(), lv.double()) for m, lv in zip(means, logvars, strict=True)))
    density /= torch.trapezoid(density, x)
    numeric_mean = torch.trapezoid(x * density, x)
    numeric_var = torch.trapezoid((x - numeric_mean) ** 2 * density, x)
    mean, logvar = product_of_gaussians(means[:, None], logvars[:, None], dim=0)
    assert float(mean) == pytest.approx(float(numeric_mean), abs=1e-6)
    assert float(torch.exp(logvar)) == pytest.approx(float(numeric_var), rel=1e-5)


def test_product_of_one_expert_is_that_expert_and_kl_of_equal_gaussians_is_zero():
    mean, logvar = torch.randn(1, 4, 3), torch.randn(1, 4, 3)
    out_mean, out_logvar = product_of_gaussians(mean, logvar, dim=0)
    torch.testing.assert_close(out_mean, mean[0])
    torch.testing.assert_close(out_logvar, logvar[0])
    assert float(gaussian_kl(mean, logvar, mean, logvar).abs().max()) < 1e-6


# ---------------------------------------------------------------------------------------------- schemes


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_scheme_trains_on_the_elbo(scheme):
    torch.manual_seed(0)
    model = GMN(MODS, TINY, scheme)
    context, target = batch()
    out = model.elbo(context, target, 3, sigma=0.2)
    assert out["elbo"].shape == (3,) and torch.isfinite(out["loss"])
    assert (out["kl"] >= -1e-4).all()
    torch.testing.assert_close(out["elbo"], out["log_likelihood"] - out["kl"])
    assert torch.allclose(out["dims"], torch.full((3,), 2.0 * (3 * 16 * 16 + 59)))
    out["loss"].backward()
    unused = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unused, f"parameters without gradient: {unused}"


def test_the_schemes_differ_in_their_experts():
    counts = {s: count_parameters(GMN(MODS, TINY, s)) for s in SCHEMES}
    assert counts["poe"] > counts["apoe"] > counts["baseline"]  # APoE: one core + modality-id channels
    assert len(GMN(MODS, TINY, "poe").cores) == 2 and len(GMN(MODS, TINY, "apoe").cores) == 1


def test_paper_architecture_has_the_papers_parameter_counts():
    """Section 4: PoE 53M vs APoE 29M (M = 5), 131M vs 51M (M = 14)."""
    m5 = paper_parameter_counts(modality_split(5, 64), PAPER)
    m14 = paper_parameter_counts(modality_split(14, 48), PAPER)
    for ours, paper in [(m5["poe"], 53e6), (m5["apoe"], 29e6), (m14["poe"], 131e6), (m14["apoe"], 51e6)]:
        assert abs(ours - paper) / paper < 0.1


def test_apoe_product_uses_every_expert():
    """With all experts identical the product halves the variance of a single expert's Gaussian."""
    torch.manual_seed(0)
    model = GMN(MODS, TINY, "apoe")
    n = 2
    u_p = torch.randn(n, 1, TINY.r_channels + 2, *model.grid).expand(n, 2, -1, -1, -1).contiguous()
    core = model.cores[0]
    state_p, _ = core.initial(n, model.grid, u_p)
    mean, logvar = core.prior(state_p)
    out_mean, out_logvar = product_of_gaussians(torch.stack([mean, mean], 1), torch.stack([logvar, logvar], 1), dim=1)
    torch.testing.assert_close(out_mean, mean)
    torch.testing.assert_close(out_logvar, logvar - math.log(2))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_empty_context_is_valid_and_uses_the_learned_empty_representation(scheme):
    torch.manual_seed(0)
    model = GMN(MODS, TINY, scheme)
    _, target = batch()
    out = model.elbo({}, target, 3)
    assert torch.isfinite(out["loss"])
    rep = model.represent({}, 3)
    torch.testing.assert_close(rep[:, 0], model.empty["image"].expand(3, -1, -1, -1))
    queries = {"image": (target["image"][1], target["image"][2])}
    images = model.generate(None, queries, 3)["image"]
    assert images.shape == (6, 3, 16, 16)


def test_likelihood_estimates_are_finite_and_reproducible():
    torch.manual_seed(0)
    model = GMN(MODS, TINY, "apoe")
    context, target = batch()
    a = model.log_likelihood(context, target, 3, n_samples=3, generator=torch.Generator().manual_seed(5))
    b = model.log_likelihood(context, target, 3, n_samples=3, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    assert a.shape == (3,) and torch.isfinite(a).all()
    grey = model.log_likelihood(context, {"image": target["image"]}, 3, n_samples=2, grey=True)
    prior = model.log_likelihood(context, target, 3, n_samples=2, proposal="prior")
    assert torch.isfinite(grey).all() and torch.isfinite(prior).all()


def test_iwae_bound_tightens_with_more_samples_on_average():
    torch.manual_seed(0)
    model = GMN(MODS, TINY, "baseline")
    context, target = batch(n_scenes=4)
    one = torch.stack([model.log_likelihood(context, target, 4, 1, generator=torch.Generator().manual_seed(s)) for s in range(6)])
    many = model.log_likelihood(context, target, 4, 24, generator=torch.Generator().manual_seed(99))
    assert float(many.mean()) >= float(one.mean()) - 1.0


def test_half_images_and_quadrants_fit_the_latent_grid():
    for m, size, grid in [(5, 16, (2, 2)), (8, 16, (4, 2)), (14, 16, (2, 2))]:
        mods = modality_split(m, size)
        model = GMN(mods, TINY, "apoe")
        assert model.grid == grid
        n = 2
        target = {mods[0].name: pairs(1, n, mods[0].shape), mods[-1].name: pairs(1, n, mods[-1].shape)}
        context = {mods[1].name: pairs(2, n, mods[1].shape)}
        assert torch.isfinite(model.elbo(context, target, n)["loss"])


# ---------------------------------------------------------------------------------------------- bad input


def test_bad_input_raises_clear_errors():
    model = GMN(MODS, TINY, "apoe")
    context, target = batch()
    with pytest.raises(ValueError, match=r"modality \['sound'\].*not built for.*\['image', 'haptic'\]"):
        model.elbo({**context, "sound": context["haptic"]}, target, 3)
    bad_query = (target["haptic"][0], torch.zeros(len(target["haptic"][0]), 5), target["haptic"][2])
    with pytest.raises(ValueError, match=r"queries have shape \(6, 5\); expected \(6, 7\)"):
        model.elbo(context, {**target, "haptic": bad_query}, 3)
    with pytest.raises(ValueError, match="empty target set"):
        model.elbo(context, {}, 3)
    with pytest.raises(ValueError, match="empty target set"):
        model.log_likelihood(context, {}, 3)
    bad_sense = (torch.zeros(6, 3, 8, 8), *target["image"][1:])
    with pytest.raises(ValueError, match=r"senses have shape \(3, 8, 8\); expected \(3, 16, 16\)"):
        model.elbo(context, {"image": bad_sense}, 3)
    with pytest.raises(ValueError, match=r"scene index outside \[0, 2\)"):
        model.elbo(context, target, 2)
    with pytest.raises(ValueError, match="unknown scheme 'moe'"):
        GMN(MODS, TINY, "moe")
    with pytest.raises(ValueError, match=r"queries for modality \['touch'\]"):
        model.generate(None, {"touch": (torch.zeros(1, 7), torch.zeros(1, dtype=torch.long))}, 1)


def test_modality_specs_are_checked():
    with pytest.raises(ValueError, match="unknown kind 'sound'"):
        ModalitySpec("mic", "sound", (10,))
    with pytest.raises(ValueError, match=r"shape \(3, 8\) does not fit kind 'image'"):
        ModalitySpec("cam", "image", (3, 8))


def test_image_modalities_must_share_a_size():
    mods = modality_split(2, 16)
    other = type(mods[0])("image2", "image", (3, 8, 8))
    with pytest.raises(ValueError, match="share one size"):
        GMN([*mods, other], TINY)


def test_empty_modality_pairs_count_as_no_context():
    model = GMN(MODS, TINY, "baseline")
    _, target = batch()
    empty = (torch.zeros(0, 3, 16, 16), torch.zeros(0, 7), torch.zeros(0, dtype=torch.long))
    torch.manual_seed(1)
    a = model.elbo({"image": empty}, target, 3, generator=torch.Generator().manual_seed(0))["elbo"]
    b = model.elbo({}, target, 3, generator=torch.Generator().manual_seed(0))["elbo"]
    torch.testing.assert_close(a, b)


def test_numpy_free_determinism_of_training_step():
    def one_step():
        torch.manual_seed(0)
        model = GMN(MODS, TINY, "apoe")
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        context, target = batch()
        loss = model.elbo(context, target, 3, generator=torch.Generator().manual_seed(0))["loss"]
        loss.backward()
        opt.step()
        return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])

    np.testing.assert_array_equal(one_step(), one_step())
