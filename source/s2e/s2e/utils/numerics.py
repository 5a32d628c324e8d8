"""A fingerprint of the float rounding a closed loop runs with: the bits of a small fixed render by the camera's
rasterizer and of a small fixed network's forward pass, on this machine, with this process's torch threads.

A learned policy in closed loop turns a last-bit difference into a different episode now and then, so two runs of
one method repeat each other's outcomes only when every kernel rounds alike. The machine's kind (s2e.utils.machine)
names the CPU, but a change of the rasterizer's kernels, of torch or of its math libraries changes the rounding on
the same CPU too; this fingerprint changes whenever they round its fixed inputs differently. Evaluation results
record it, and rows are paired (verdicts, split drops) only when it matches. It covers the camera (Numba kernels on
a CPU, gsplat on a GPU) and the network kernels a policy uses (convolution, matrix products, layer norm, attention),
not the physics.
"""

from __future__ import annotations

import hashlib

import torch


def numerics_fingerprint(device: str = "cpu") -> str:
    """12 hex digits of a hash of a fixed 32x32 render of 256 seeded Gaussians and of a seeded conv + attention
    network's output on that image, computed on `device` with the current torch thread count."""
    from s2e.rendering import GaussianScene, render
    from s2e.rendering.cameras import intrinsics_from_fov, look_at

    g = torch.Generator().manual_seed(0)
    n = 256
    scene = GaussianScene(means=torch.rand(n, 3, generator=g) * 2 - 1, quats=torch.randn(n, 4, generator=g),
                          scales=torch.rand(n, 3, generator=g) * 0.15 + 0.02, opacities=torch.rand(n, generator=g),
                          sh=torch.randn(n, 4, 3, generator=g) * 0.5).to(device)
    views = look_at((0.3, -3.0, 1.2), (0.0, 0.0, 0.0))[None].to(device)
    ks = intrinsics_from_fov(32, 32, 70.0)[None].to(device)
    out = render(scene, views, ks, 32, 32, antialiased=True)
    with torch.random.fork_rng(devices=[]):  # the modules' default init must not move the caller's random stream
        net = torch.nn.ModuleDict({"conv": torch.nn.Conv2d(3, 16, 3, stride=2), "norm": torch.nn.LayerNorm(16),
                                   "attn": torch.nn.MultiheadAttention(16, 2, batch_first=True),
                                   "head": torch.nn.Linear(16, 8)})
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        net = net.to(device)
        tokens = net["conv"](out.rgb.permute(0, 3, 1, 2)).flatten(2).transpose(1, 2)  # [1, 225, 16]
        tokens = net["norm"](torch.nn.functional.gelu(tokens))
        mixed, _ = net["attn"](tokens, tokens, tokens, need_weights=False)
        y = net["head"](mixed + tokens)
    digest = hashlib.sha256()
    for t in (out.rgb, out.alpha, out.depth, y):
        digest.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]
