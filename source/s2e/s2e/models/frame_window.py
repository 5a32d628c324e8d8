"""A per-env window of cached frame features: each step encodes only the newest camera frame.

AGDM encodes every frame on its own (`AGDM.encode_frames`), so a policy acting on the last k frames
needs one new frame's features per step, not k: the window slides the cached features of each env by
the newest frame and re-encodes the whole history of the envs whose history restarted (a reset). The
camera history it is fed must advance by exactly one frame per call (the camera renders every policy
step), newest last.

Cached features equal the uncached ones up to BLAS rounding (~1e-6: the encoder runs on batches of
another size), so every user of the model's frames in a closed loop (PPO's observations, the NavBench-GS
policies, the bundled AGDM behind the policy contract) goes through this one window and sees the same
numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import torch


class FrameFeatureWindow:
    """`window(rgb [E, k, 3, H, W], refresh [E] bool | None) -> features [E, k, D]` of `encode` ([B, T, 3, H, W] ->
    [B, T, D], frames independent). refresh None (or the first call, or another env count) encodes every frame."""

    def __init__(self, encode: Callable[[torch.Tensor], torch.Tensor]):
        self.encode = encode
        self.features: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the cache: the next call encodes every frame."""
        self.features = None

    @torch.no_grad()
    def __call__(self, rgb: torch.Tensor, refresh: torch.Tensor | None = None) -> torch.Tensor:
        cached = self.features
        if cached is None or refresh is None or cached.shape[:2] != rgb.shape[:2]:
            self.features = self.encode(rgb)
            return self.features
        feats = torch.cat([cached[:, 1:], self.encode(rgb[:, -1:])], dim=1)
        ids = refresh.to(device=rgb.device, dtype=torch.bool).nonzero().squeeze(-1)
        if ids.numel():
            feats[ids] = self.encode(rgb[ids])
        self.features = feats
        return feats
