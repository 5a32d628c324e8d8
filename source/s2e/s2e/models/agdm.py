"""AGDM: the anchor-guided Gaussian-mixture navigation model (the paper's "seeing" stage).

Data flow, split so callers can cache the expensive, frozen parts:

    encode_frames(images [B,T,3,H,W]) -> [B,T,D]     one token per frame, frames independent
    fuse(frame_feats [B,k,D], goal [B,2]) -> [B,k+1,D]  self-attention over frames + goal token (K, V)
    decode(context) -> AGDMOutput                      anchor queries (Q) refined by cross-attention
                                                       blocks, then score / trajectory / speed heads

Because `encode_frames` treats frames independently, a rollout encodes only each new frame and
slides a window over cached features (s2e.models.frame_window; bit-identical when taken from the
same encoder call; across calls with a different number of frames, equal up to BLAS rounding, ~1e-6)
and acts through `forward_features`. RAM (the RL stage) wraps each block of `self.decoder`. Trajectories are in
normalized units (metric = normalized * speed * waypoint_dt).

`image_size` is recorded for the data pipeline; the CNN pools to a fixed 4x4 map, so it accepts
other sizes too.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from .mixture import AGDMOutput


@dataclass
class AGDMConfig:
    image_size: tuple[int, int] = (64, 64)
    """(H, W) of the camera frames."""
    context: int = 4
    """k: past frames per decision (oldest first, last = current)."""
    num_waypoints: int = 10
    """W: waypoints of each predicted trajectory."""
    num_modes: int = 64
    """M anchors / mixture modes; 1 is the paper's unimodal "S2E-BC-Single" ablation."""
    d_model: int = 128
    """Token width of the fusion transformer and the decoder."""
    n_heads: int = 4
    fusion_layers: int = 2
    """Transformer layers fusing the frame features with the goal ..."""
    decoder_layers: int = 2
    """... and decoding the anchors' queries into modes."""
    mlp_ratio: int = 4
    dropout: float = 0.0
    encoder: str = "cnn"
    """"cnn" (small, CPU-sized, trained from scratch) or "resnet18" (torchvision, local weights)."""
    cnn_channels: tuple[int, ...] = (32, 64, 96, 128)
    resnet_weights: str | None = None
    """Local path of torchvision resnet18 weights (a state_dict file); required for encoder="resnet18"."""
    goal_scale: float = 10.0
    """Metres: goal (x, y) is divided by this before the goal MLP."""
    waypoint_dt: float = 0.25
    max_speed: float = 2.0
    min_sigma: float = 0.02
    assignment: str = "prediction"
    """Which mode the loss trains on each sample (the winner h): "prediction", the mode whose predicted
    mean trajectory fits the ground truth best (the paper's rule), or "anchor", the mode whose anchor
    (intent point) is nearest the ground truth's final waypoint (MultiPath-style; a fixed target per
    sample, so the score head learns the K-means cell and every mode keeps its own region)."""

    def __post_init__(self):
        self.image_size = tuple(int(v) for v in self.image_size)
        self.cnn_channels = tuple(int(v) for v in self.cnn_channels)
        if self.encoder not in ("cnn", "resnet18"):
            raise ValueError(f"AGDMConfig.encoder must be 'cnn' or 'resnet18', got {self.encoder!r}")
        if self.assignment not in ("prediction", "anchor"):
            raise ValueError(f"AGDMConfig.assignment must be 'prediction' or 'anchor', got {self.assignment!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"AGDMConfig.d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")
        if min(self.context, self.num_waypoints, self.num_modes, self.decoder_layers) < 1:
            raise ValueError("AGDMConfig: context, num_waypoints, num_modes and decoder_layers must be >= 1")

    def to_dict(self) -> dict:
        """Plain types only (lists for tuples), so it can live in a weights_only checkpoint."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> AGDMConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise KeyError(f"unknown AGDMConfig keys {unknown}")
        return cls(**data)


def _mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.GELU(), nn.Linear(d_hidden, d_out))


class FrameCNN(nn.Module):
    """Small CPU-sized frame encoder: strided convs + GroupNorm -> 4x4 map -> one D-dim token.

    GroupNorm (not BatchNorm) keeps every frame's token independent of the rest of the batch, in
    training and in evaluation, which is what makes cached frame features exact.
    """

    def __init__(self, channels: tuple[int, ...], d_model: int):
        super().__init__()
        layers, c_in = [], 3
        for i, c in enumerate(channels):
            k = 5 if i == 0 else 3
            layers += [nn.Conv2d(c_in, c, k, stride=2, padding=k // 2), nn.GroupNorm(min(8, c), c), nn.GELU()]
            c_in = c
        self.convs = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.proj = nn.Linear(c_in * 16, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pool(self.convs((x - 0.5) / 0.25)).flatten(1))


class ResNet18Encoder(nn.Module):
    """torchvision resnet18 (frozen BatchNorm, so frames stay batch-independent) + a linear projection."""

    def __init__(self, d_model: int, weights: str | None, pretrained: bool):
        super().__init__()
        try:
            import torchvision
            from torchvision.ops import FrozenBatchNorm2d
        except ImportError as exc:
            raise ImportError(f"encoder='resnet18' needs torchvision, which is not importable ({exc}); use "
                              "encoder='cnn'") from exc
        net = torchvision.models.resnet18(weights=None, norm_layer=FrozenBatchNorm2d)
        if pretrained:
            if not weights:
                raise ValueError("encoder='resnet18' needs AGDMConfig.resnet_weights: a local path to torchvision "
                                 "resnet18 weights (nothing is downloaded); or use encoder='cnn'")
            if not Path(weights).is_file():
                raise FileNotFoundError(f"resnet18 weights {weights}: file not found; point AGDMConfig.resnet_weights "
                                        "at a local .pth")
            net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        net.fc = nn.Identity()
        self.net = net
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False)
        self.proj = nn.Linear(512, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.net((x - self.mean) / self.std))


class CrossAttentionBlock(nn.Module):
    """One decoder block: queries attend to the context, then an MLP; pre-norm with residuals.

    Standalone on purpose: RAM wraps each instance (frozen original + zero-gated trainable copy)
    and only relies on `forward(queries [B,M,D], context [B,S,D]) -> [B,M,D]`.
    """

    def __init__(self, d_model: int, n_heads: int, mlp_ratio: int = 4, dropout: float = 0.0):
        super().__init__()
        self.norm_q = nn.LayerNorm(d_model)
        self.norm_kv = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm_mlp = nn.LayerNorm(d_model)
        self.mlp = _mlp(d_model, mlp_ratio * d_model, d_model)
        self.drop = nn.Dropout(dropout)

    def forward(self, queries: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        kv = self.norm_kv(context)
        q = queries + self.drop(self.attn(self.norm_q(queries), kv, kv, need_weights=False)[0])
        return q + self.drop(self.mlp(self.norm_mlp(q)))


class AGDM(nn.Module):
    def __init__(self, cfg: AGDMConfig, anchors: torch.Tensor, pretrained_encoder: bool = True):
        """anchors: [M, 2] intent points (final normalized waypoints, from K-means).

        pretrained_encoder=False skips loading resnet18 weights (used when a checkpoint supplies them).
        """
        super().__init__()
        if anchors.shape != (cfg.num_modes, 2):
            raise ValueError(f"anchors have shape {tuple(anchors.shape)}, expected [{cfg.num_modes}, 2] "
                             "(num_modes x 2)")
        self.cfg = cfg
        d, w = cfg.d_model, cfg.num_waypoints
        self.register_buffer("anchors", anchors.detach().float().clone())

        if cfg.encoder == "cnn":
            self.encoder = FrameCNN(cfg.cnn_channels, d)
        else:
            self.encoder = ResNet18Encoder(d, cfg.resnet_weights, pretrained_encoder)
        self.frame_pos = nn.Parameter(torch.randn(cfg.context, d) * 0.02)
        self.goal_mlp = _mlp(5, d, d)
        self.goal_type = nn.Parameter(torch.randn(d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, cfg.n_heads, cfg.mlp_ratio * d, cfg.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.fusion = nn.TransformerEncoder(layer, cfg.fusion_layers, enable_nested_tensor=False)
        self.fusion_norm = nn.LayerNorm(d)

        self.anchor_mlp = _mlp(2, d, d)
        self.mode_embed = nn.Parameter(torch.randn(cfg.num_modes, d) * 0.02)
        self.decoder = nn.ModuleList([CrossAttentionBlock(d, cfg.n_heads, cfg.mlp_ratio, cfg.dropout)
                                      for _ in range(cfg.decoder_layers)])
        self.decoder_norm = nn.LayerNorm(d)
        self.score_head = _mlp(d, d, 1)
        self.traj_head = _mlp(d, d, w * 5)
        self.speed_head = _mlp(d, d // 2, 1)
        self._init_heads()

    def _init_heads(self):
        # Start near the anchor prior: small offsets, sigma ~ 1 normalized unit, speed ~ 1 m/s.
        last = self.traj_head[-1]
        nn.init.normal_(last.weight, std=1e-3)
        bias = torch.zeros(self.cfg.num_waypoints, 5)
        bias[:, 2:4] = math.log(math.expm1(1.0 - self.cfg.min_sigma))
        last.bias.data.copy_(bias.flatten())
        nn.init.zeros_(self.speed_head[-1].weight)
        nn.init.constant_(self.speed_head[-1].bias, math.log(math.expm1(1.0)))

    # ---- stages -------------------------------------------------------------------------------
    def encode_frames(self, images: torch.Tensor) -> torch.Tensor:
        """[B, T, 3, H, W] in [0, 1] -> [B, T, D]; each frame is encoded on its own (cacheable)."""
        if images.dim() != 5 or images.shape[2] != 3:
            raise ValueError(f"images must be [B, T, 3, H, W], got {tuple(images.shape)}")
        b, t = images.shape[:2]
        return self.encoder(images.flatten(0, 1)).view(b, t, -1)

    def goal_features(self, goal: torch.Tensor) -> torch.Tensor:
        """Goal (x, y) in metres, robot frame -> [B, 5]: scaled position, log1p distance, direction."""
        dist = goal.norm(dim=-1, keepdim=True)
        direction = torch.where(dist > 1e-6, goal / dist.clamp_min(1e-6), torch.tensor([1.0, 0.0], device=goal.device))
        return torch.cat([goal / self.cfg.goal_scale, torch.log1p(dist), direction], dim=-1)

    def fuse(self, frame_feats: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """Frame tokens [B, k, D] (oldest first) + goal [B, 2] -> context tokens [B, k+1, D].

        k may be below cfg.context (start of an episode): frames take the *last* k position
        embeddings, so the current frame always has the same one.
        """
        k = frame_feats.shape[1]
        if k > self.cfg.context:
            raise ValueError(f"got {k} frames, the model was built for at most {self.cfg.context}")
        frames = frame_feats + self.frame_pos[self.cfg.context - k:]
        goal_tok = self.goal_mlp(self.goal_features(goal)) + self.goal_type
        tokens = torch.cat([frames, goal_tok[:, None]], dim=1)
        return self.fusion_norm(self.fusion(tokens))

    def queries(self, batch_size: int) -> torch.Tensor:
        """Anchor queries f_P = MLP(anchor / W) + mode embedding, [B, M, D]."""
        q = self.anchor_mlp(self.anchors / self.cfg.num_waypoints) + self.mode_embed
        return q.unsqueeze(0).expand(batch_size, -1, -1)

    def anchor_trajectories(self) -> torch.Tensor:
        """Prior trajectory per anchor: a straight line from the robot to the intent point, [M, W, 2]."""
        w = self.cfg.num_waypoints
        steps = torch.arange(1, w + 1, device=self.anchors.device, dtype=self.anchors.dtype) / w
        return self.anchors[:, None, :] * steps[:, None]

    def decode(self, context: torch.Tensor, blocks=None) -> AGDMOutput:
        """Context tokens -> mixture; `blocks` replaces the decoder blocks (RAM's reference: the frozen ones)."""
        q = self.queries(context.shape[0])
        for block in self.decoder if blocks is None else blocks:
            q = block(q, context)
        return self.heads(self.decoder_norm(q))

    def heads(self, feats: torch.Tensor) -> AGDMOutput:
        """Refined anchor features [B, M, D] -> AGDMOutput (mu = anchor line + predicted offsets)."""
        b, m, _ = feats.shape
        cfg = self.cfg
        raw = self.traj_head(feats).view(b, m, cfg.num_waypoints, 5)
        mu = self.anchor_trajectories() + raw[..., :2]
        sigma = F.softplus(raw[..., 2:4]) + cfg.min_sigma
        rho = 0.95 * torch.tanh(raw[..., 4])
        speed = F.softplus(self.speed_head(feats).squeeze(-1)).clamp(max=cfg.max_speed)
        return AGDMOutput(self.score_head(feats).squeeze(-1), mu, sigma, rho, speed, cfg.waypoint_dt)

    @torch.no_grad()
    def winner(self, out: AGDMOutput, waypoints: torch.Tensor) -> torch.Tensor:
        """Winner mode h per row for normalized ground truth [B, W, 2], by cfg.assignment: [B]."""
        if self.cfg.assignment == "anchor":
            return torch.cdist(waypoints[:, -1, :].to(self.anchors.dtype), self.anchors).argmin(-1)
        return out.mixture().winner(waypoints)

    def forward_features(self, frame_feats: torch.Tensor, goal: torch.Tensor) -> AGDMOutput:
        """forward() from frame features [B, k, D] (encode_frames'; e.g. a FrameFeatureWindow's cache)."""
        return self.decode(self.fuse(frame_feats, goal))

    def forward(self, images: torch.Tensor, goal: torch.Tensor) -> AGDMOutput:
        return self.forward_features(self.encode_frames(images), goal)
