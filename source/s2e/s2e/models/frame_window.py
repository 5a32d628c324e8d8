"""A per-env window of cached frame features: each step encodes only the newest camera frame.

AGDM encodes every frame on its own (`AGDM.encode_frames`), so a policy acting on the last k frames
needs one new frame's features per step, not k: the window slides the cached features of each env by
the newest frame and re-encodes the whole history of the envs whose history restarted (a reset). The
camera history it is fed must advance by exactly one frame per call (the camera renders every policy
step), newest last.

A call without `refresh` does not know what changed (rsl-rl's `learn()` reads `get_observations()`
once at its start, the env may have been reset): it compares the history with the one the cached
features are of (the window keeps a copy) and re-encodes only the envs whose history differs; the
others keep their cached features bit for bit. So re-reading the same state costs no encoding and
gives the numbers the steps gave, which is what lets a resumed training run continue exactly: a
frame's features can change in the last bits with the batch it is encoded in (MKL picks its GEMM
kernel by the number of rows: on some CPUs, or under MKL_CBWR=COMPATIBLE, a frame encoded beside 3
others and beside 15 others differ by ~1e-7), and PPO's updates amplify any difference.

Cached features equal the uncached ones up to that rounding (~1e-6), so every user of the model's
frames in a closed loop (PPO's observations, the NavBench-GS policies, the bundled AGDM behind the
policy contract) goes through this one window and sees the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class FrameFeatureWindow:
    """`window(rgb [E, k, 3, H, W], refresh [E] bool | None) -> features [E, k, D]` of `encode` ([B, T, 3, H, W] ->
    [B, T, D], frames independent). The first call, or another env count or history shape, encodes every frame;
    refresh None re-encodes the envs whose history is not the cached one (see the module docstring)."""

    def __init__(self, encode: Callable[[torch.Tensor], torch.Tensor]):
        self.encode = encode
        self.features: torch.Tensor | None = None
        self.frames: torch.Tensor | None = None
        """The camera history the cached features are of (a copy), for calls without `refresh`."""

    def reset(self) -> None:
        """Forget the cache: the next call encodes every frame."""
        self.features = self.frames = None

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor, refresh: torch.Tensor | None = None) -> torch.Tensor:
        cached, seen = self.features, self.frames
        if cached is None or seen is None or seen.shape != rgb.shape or seen.device != rgb.device:
            feats = self.encode(rgb)
        else:
            if refresh is None:  # the same state re-read, or changed behind the window's back: compare
                feats = cached
                refresh = (seen != rgb).flatten(1).any(dim=1)
            else:
                feats = torch.cat([cached[:, 1:], self.encode(rgb[:, -1:])], dim=1)
            ids = refresh.to(device=rgb.device, dtype=torch.bool).nonzero().squeeze(-1)
            if ids.numel():
                feats = feats.clone() if feats is cached else feats  # a tensor handed out before is never changed
                feats[ids] = self.encode(rgb[ids])
        if seen is not None and seen.shape == rgb.shape and seen.device == rgb.device and seen.dtype == rgb.dtype:
            seen.copy_(rgb)
        else:
            self.frames = rgb.clone()
        self.features = feats
        return feats
