"""Held Gumbel mode draws: each step's mode is a draw from that step's scores; the noise holds for k steps."""

import pytest
import torch

from s2e.rl.held_modes import HeldGumbelModes

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _frequencies(modes: torch.Tensor, m: int) -> torch.Tensor:
    return torch.bincount(modes, minlength=m).double() / modes.numel()


def test_each_step_is_a_draw_from_that_steps_scores():
    """Marginal of step t's mode = softmax(logits_t), also when the scores change while the noise is held."""
    e, m = 200_000, 5
    g = torch.Generator().manual_seed(0)
    held = HeldGumbelModes(hold_steps=4)
    for step in range(3):
        logits = torch.randn(m, generator=g, dtype=torch.float64) * 1.5
        log_q = torch.log_softmax(logits, -1).expand(e, m)
        freq = _frequencies(held.draw(log_q, g), m)
        torch.testing.assert_close(freq, log_q[0].exp(), atol=4e-3, rtol=0, msg=f"step {step}")


def test_noise_is_held_for_k_steps_then_redrawn():
    e, m, k = 512, 8, 3
    g = torch.Generator().manual_seed(1)
    held = HeldGumbelModes(hold_steps=k)
    log_q = torch.full((e, m), -torch.log(torch.tensor(float(m))))  # uniform: the mode is the noise's argmax
    first = held.draw(log_q, g)
    for _ in range(k - 1):
        assert torch.equal(held.draw(log_q, g), first)
    changed = (held.draw(log_q, g) != first).double().mean()
    assert changed > 0.8  # fresh noise: a new uniform draw differs with probability 7/8


def test_ended_episodes_redraw_at_their_next_step():
    e, m = 512, 8
    g = torch.Generator().manual_seed(2)
    held = HeldGumbelModes(hold_steps=100)
    log_q = torch.zeros(e, m)
    first = held.draw(log_q, g)
    dones = torch.zeros(e, dtype=torch.bool)
    dones[: e // 2] = True
    held.reset(dones)
    second = held.draw(log_q, g)
    assert torch.equal(second[e // 2:], first[e // 2:])
    assert (second[: e // 2] != first[: e // 2]).double().mean() > 0.8


def test_hold_of_one_is_an_independent_draw_per_step():
    e, m = 512, 8
    g = torch.Generator().manual_seed(3)
    held = HeldGumbelModes(hold_steps=1)
    log_q = torch.zeros(e, m)
    assert (held.draw(log_q, g) != held.draw(log_q, g)).double().mean() > 0.8


def test_hold_must_be_positive():
    with pytest.raises(ValueError, match="mode_hold_steps must be >= 1"):
        HeldGumbelModes(0)
