"""RAM, the residual attention module: the only part of a pretrained AGDM that RL fine-tunes.

Each decoder cross-attention block ψ(Q; K, V; Θ_D) is kept frozen and gets a trainable copy Θ_l
behind two zero-initialized linear gates Z (ControlNet-style):

    Q' = ψ(Q; K, V; Θ_D) + Z_out(ψ(Z_in(Q); K, V; Θ_l))

Z_out = 0 at the start, so the wrapped model reproduces the checkpoint exactly; Z_out receives a
gradient from the first update (the branch output is not zero), Z_in and Θ_l from the next ones.
Encoder, fusion, anchors and heads stay frozen, and the context and anchor features enter the
decoder detached: no gradient reaches them.

`rank_only=True` keeps the RAM-wrapped decoder's anchor scores only: the mixture's trajectories,
spreads and speeds are the checkpoint's own (the frozen path's), so fine-tuning can re-rank the
checkpoint's modes but not reshape them.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from .agdm import AGDM, AGDMOutput


class ResidualAttentionBlock(nn.Module):
    """A frozen decoder block plus its zero-gated trainable copy; same forward(queries, context) signature."""

    def __init__(self, block: nn.Module, d_model: int):
        super().__init__()
        self.frozen = block
        self.frozen.requires_grad_(False)
        self.branch = copy.deepcopy(block).requires_grad_(True)
        self.z_in = nn.Linear(d_model, d_model)
        self.z_out = nn.Linear(d_model, d_model)
        for gate in (self.z_in, self.z_out):
            nn.init.zeros_(gate.weight)
            nn.init.zeros_(gate.bias)

    def forward(self, queries: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        return self.frozen(queries, context) + self.z_out(self.branch(self.z_in(queries), context))

    def train(self, mode: bool = True):
        super().train(mode)
        self.frozen.eval()  # the frozen block never changes behaviour (dropout off)
        return self


class RAMPolicyModel(nn.Module):
    """An AGDM whose decoder blocks are wrapped by RAM; only `ram_parameters()` train.

    `context(images, goal)` runs the frozen encoder and fusion without autograd (cacheable per
    step); `decode(context)` runs the decoder with RAM and the frozen heads.
    """

    def __init__(self, agdm: AGDM, rank_only: bool = False):
        super().__init__()
        self.agdm = agdm
        self.rank_only = bool(rank_only)
        agdm.requires_grad_(False)
        d = agdm.cfg.d_model
        agdm.decoder = nn.ModuleList([ResidualAttentionBlock(block, d) for block in agdm.decoder])

    @property
    def cfg(self):
        return self.agdm.cfg

    def ram_parameters(self) -> list[nn.Parameter]:
        return [p for block in self.agdm.decoder for name, p in block.named_parameters()
                if not name.startswith("frozen.")]

    def train(self, mode: bool = True):
        super().train(mode)
        self.agdm.encoder.eval()
        self.agdm.fusion.eval()
        return self

    @torch.no_grad()
    def context(self, images: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """Frozen context tokens [B, k+1, D] (no graph: features can be cached and stored)."""
        return self.agdm.fuse(self.agdm.encode_frames(images), goal)

    def decode(self, context: torch.Tensor) -> AGDMOutput:
        """Mixture from context tokens through the AGDM's own decode (its blocks are now RAM blocks);
        the context is detached and the anchor queries come from frozen parameters, so gradients
        reach only the RAM branches and gates. With rank_only, everything but the scores is the reference's."""
        out = self.agdm.decode(context.detach())
        if not self.rank_only:
            return out
        return dataclasses.replace(self.reference_decode(context), logits=out.logits)

    @torch.no_grad()
    def reference_decode(self, context: torch.Tensor) -> AGDMOutput:
        """The imported checkpoint's own mixture: the frozen blocks alone, RAM branches skipped."""
        return self.agdm.decode(context, blocks=[block.frozen for block in self.agdm.decoder])

    def encode_frames(self, images: torch.Tensor) -> torch.Tensor:
        """The frozen encoder's frame features [B, T, D] (AGDM.encode_frames)."""
        return self.agdm.encode_frames(images)

    def forward_features(self, frame_feats: torch.Tensor, goal: torch.Tensor) -> AGDMOutput:
        """forward() from frame features [B, k, D] (e.g. a FrameFeatureWindow's cache)."""
        with torch.no_grad():
            context = self.agdm.fuse(frame_feats, goal)
        return self.decode(context)

    def forward(self, images: torch.Tensor, goal: torch.Tensor) -> AGDMOutput:
        return self.decode(self.context(images, goal))
