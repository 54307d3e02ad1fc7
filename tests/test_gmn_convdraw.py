"""The ConvDRAW layers' fast forms compute the same functions as their plain forms (only the rounding differs)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sensorimotor.gmn.convdraw import CanvasRenderer, ConvLSTMCell, DrawCore, upsample_subpixel


def plain_step(cell: ConvLSTMCell, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]):
    """The textbook ConvLSTM step: one convolution over [input, hidden]."""
    h, c = state
    i, f, o, g = cell.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


@pytest.mark.parametrize(("cin", "cout", "size"), [(16, 32, (4, 4)), (32, 3, (8, 8)), (5, 7, (3, 5))])
def test_subpixel_upsampling_equals_the_transposed_convolution(cin, cout, size):
    torch.manual_seed(0)
    layer = nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)
    x = torch.randn(6, cin, *size)
    expected = layer(x)
    got = upsample_subpixel(x, layer)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-5, rtol=1e-5)


def test_subpixel_upsampling_refuses_other_transposed_convolutions():
    with pytest.raises(ValueError, match="kernel-4, stride-2, padding-1"):
        upsample_subpixel(torch.zeros(1, 2, 4, 4), nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1))


def test_lstm_step_with_fixed_gates_equals_the_plain_step():
    torch.manual_seed(1)
    cell = ConvLSTMCell(in_channels=5 + 3, hidden=4, kernel=3)
    fixed, x = torch.randn(2, 5, 4, 4), torch.randn(2, 3, 4, 4)
    state = (torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4))
    expected = plain_step(cell, torch.cat([fixed, x], dim=1), state)
    got = cell(x, state, fixed=cell.fixed_gates(fixed))
    for a, b in zip(got, expected, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    # every input fixed, and a step from the zero state
    full = torch.cat([fixed, x], dim=1)
    zero = (torch.zeros(2, 4, 4, 4), torch.zeros(2, 4, 4, 4))
    for a, b in zip(cell(None, state, fixed=cell.fixed_gates(full)), plain_step(cell, full, state), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    for a, b in zip(cell(None, None, fixed=cell.fixed_gates(full)), plain_step(cell, full, zero), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_lstm_step_gradients_match_the_plain_step():
    torch.manual_seed(2)
    cell = ConvLSTMCell(in_channels=6, hidden=3, kernel=3)
    fixed, x = torch.randn(2, 4, 3, 3), torch.randn(2, 2, 3, 3)
    state = (torch.randn(2, 3, 3, 3), torch.randn(2, 3, 3, 3))
    plain_step(cell, torch.cat([fixed, x], dim=1), state)[0].square().sum().backward()
    expected = [p.grad.clone() for p in cell.parameters()]
    cell.zero_grad()
    cell(x, state, fixed=cell.fixed_gates(fixed))[0].square().sum().backward()
    for p, g in zip(cell.parameters(), expected, strict=True):
        assert torch.allclose(p.grad, g, atol=1e-5)


def test_lstm_fixed_gates_are_checked():
    cell = ConvLSTMCell(in_channels=5, hidden=4, kernel=3)
    with pytest.raises(ValueError, match="fixed inputs have 6 channels"):
        cell.fixed_gates(torch.zeros(1, 6, 4, 4))
    with pytest.raises(ValueError, match="fixed gates must have 16 channels"):
        cell(None, None, fixed=torch.zeros(1, 15, 4, 4))
    with pytest.raises(ValueError, match="zero state"):
        cell(torch.zeros(1, 5, 4, 4), None, fixed=torch.zeros(1, 16, 4, 4))


def test_draw_core_steps_equal_the_plain_concatenated_form():
    torch.manual_seed(3)
    core = DrawCore(prior_in=5, posterior_in=7, hidden=4, z_channels=2, kernel=3)
    u_p, u_q, z = torch.randn(2, 5, 4, 4), torch.randn(2, 7, 4, 4), torch.randn(2, 2, 4, 4)
    state_p = (torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4))
    state_q = (torch.randn(2, 4, 4, 4), torch.randn(2, 4, 4, 4))
    gates_p, gates_q = core.fixed_gates(u_p, u_q)
    mean, logvar, got_q = core.posterior(gates_q, state_p, state_q)
    want_q = plain_step(core.posterior_lstm, torch.cat([u_q, state_p[0]], dim=1), state_q)
    assert torch.allclose(got_q[0], want_q[0], atol=1e-6)
    want_mean, want_logvar = core.posterior_head(want_q[0])
    assert torch.allclose(mean, want_mean, atol=1e-6) and torch.allclose(logvar, want_logvar, atol=1e-6)
    got_p = core.advance(gates_p, z, state_p)
    want_p = plain_step(core.prior_lstm, torch.cat([u_p, z], dim=1), state_p)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got_p, want_p, strict=True))
    assert core.fixed_gates(u_p, None)[1] is None


@pytest.mark.parametrize(("kind", "shape"), [("image", (3, 16, 16)), ("haptic", (11,))])
def test_renderer_equals_the_plain_loop_with_and_without_gradients(kind, shape):
    torch.manual_seed(4)
    r = CanvasRenderer(kind, shape, latent_channels=6, query_dim=7, hidden=8, grid=(4, 4), steps=3,
                       decoder_channels=4, haptic_hidden=16, kernel=3)  # fmt: skip
    latents, query = torch.randn(5, 6, 4, 4), torch.randn(5, 7)
    x = torch.cat([latents, query[:, :, None, None].expand(-1, -1, 4, 4)], dim=1)
    state, expected = r.lstm.initial(5, (4, 4), x), 0.0
    for _ in range(3):
        state = plain_step(r.lstm, x, state)
        expected = expected + r.decoder(state[0])
    if kind == "image" and tuple(expected.shape[-2:]) != shape[-2:]:
        expected = F.adaptive_avg_pool2d(expected, shape[-2:])
    with_grad = r(latents, query)
    with torch.no_grad():
        without = r(latents, query)
    assert with_grad.shape == without.shape == (5, *shape)
    assert torch.allclose(with_grad, expected, atol=1e-5) and torch.allclose(without, expected, atol=1e-5)
