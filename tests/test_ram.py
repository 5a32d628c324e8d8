"""RAM: zero-initialized residual branches reproduce the checkpoint exactly, and only they train."""

import copy

import pytest
import torch

from s2e.models import AGDM, AGDMConfig
from s2e.models.ram import RAMPolicyModel, ResidualAttentionBlock

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _agdm(seed=0) -> AGDM:
    torch.manual_seed(seed)
    cfg = AGDMConfig(d_model=32, n_heads=2, fusion_layers=1, decoder_layers=2, num_modes=8,
                     cnn_channels=(8, 16, 16, 16), image_size=(32, 32))
    anchors = torch.stack([torch.full((8,), 8.0), torch.linspace(-6, 6, 8)], -1)
    model = AGDM(cfg, anchors)
    for p in model.parameters():  # a "pretrained" model: no parameter at its initial value
        p.data.add_(0.05 * torch.randn_like(p))
    return model.eval()


def _inputs(b=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 4, 3, 32, 32, generator=g), torch.randn(b, 2, generator=g) * 10


def _outputs(out):
    return {k: getattr(out, k) for k in ("logits", "mu", "sigma", "rho", "speed")}


def test_wrapped_model_equals_the_checkpoint_exactly_at_step_zero():
    agdm = _agdm()
    ram = RAMPolicyModel(copy.deepcopy(agdm))
    # Both frozen, as a checkpoint runs for inference: on an AVX2-only CPU, PyTorch's multi-head
    # attention rounds the last bit differently when the weights require grad (even under no_grad).
    agdm.requires_grad_(False)
    images, goal = _inputs()
    with torch.no_grad():
        ref, got = _outputs(agdm(images, goal)), _outputs(ram(images, goal))
    for k in ref:
        assert torch.equal(ref[k], got[k]), k
    assert all(isinstance(b, ResidualAttentionBlock) for b in ram.agdm.decoder)


def _update(ram: RAMPolicyModel, images, goal, steps: int):
    opt = torch.optim.Adam(ram.ram_parameters(), lr=1e-2)
    target = torch.randn(images.shape[0], 10, 2)
    for _ in range(steps):
        out = ram(images, goal)
        loss = -out.mixture().log_prob(target).mean() + out.speed.square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def test_only_ram_parameters_change_after_updates():
    ram = RAMPolicyModel(_agdm())
    trainable = {id(p) for p in ram.ram_parameters()}
    assert trainable == {id(p) for p in ram.parameters() if p.requires_grad}
    before = {n: p.detach().clone() for n, p in ram.named_parameters()}
    buffers = {n: b.clone() for n, b in ram.named_buffers()}
    _update(ram, *_inputs(), steps=3)
    changed = {n for n, p in ram.named_parameters() if not torch.equal(p, before[n])}
    ram_names = {n for n, p in ram.named_parameters() if id(p) in trainable}
    assert changed <= ram_names
    # after a few steps every gate and the branch copy have moved (z_out first, then z_in and the branch)
    for block in range(2):
        for part in ("z_in.weight", "z_out.weight", "branch.attn.in_proj_weight"):
            assert f"agdm.decoder.{block}.{part}" in changed, part
    assert all(torch.equal(b, buffers[n]) for n, b in ram.named_buffers())  # anchors untouched


def test_no_gradient_reaches_context_or_anchor_features():
    ram = RAMPolicyModel(_agdm())
    images, goal = _inputs()
    context = ram.context(images, goal).requires_grad_(True)
    assert not ram.context(images, goal).requires_grad  # the frozen stages build no graph
    out = ram.decode(context)
    (out.logits.sum() + out.mu.sum()).backward()
    assert context.grad is None
    assert all(p.grad is None for n, p in ram.named_parameters() if not p.requires_grad)


def test_ram_trains_a_small_fraction_of_the_model():
    ram = RAMPolicyModel(_agdm())
    n_ram = sum(p.numel() for p in ram.ram_parameters())
    n_all = sum(p.numel() for p in ram.parameters())
    decoder = sum(p.numel() for b in ram.agdm.decoder for p in b.frozen.parameters())
    d = ram.cfg.d_model
    assert n_ram == decoder + ram.cfg.decoder_layers * 2 * (d * d + d)  # copy of the blocks + two gates per block
    assert n_ram < n_all / 2
