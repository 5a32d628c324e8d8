"""Feature drift Δ_feat (the S2E paper's measure of how far fine-tuning moved a visual encoder):
Δ_feat = ‖E_o[F_tuned(o)] − E_o[F_pre(o)]‖, the distance between the mean frame features of the fine-tuned and the
pretrained model's encoders over the same images (here: views of a NavBench-GS split, s2e.navbench.views).

A strategy that leaves the encoder frozen (RAM, decoder-only RL) has Δ_feat = 0 exactly; full-parameter RL and
SFT move it, and the paper's argument is that the drift grows where the looks differ from training.
"""

from __future__ import annotations

import torch


def frame_features(model: torch.nn.Module, frames: torch.Tensor, batch: int = 64) -> torch.Tensor:
    """Encoder features [N, d] of uint8 frames [N, H, W, 3] (an AGDM, or a fine-tuned model around one)."""
    agdm = getattr(model, "agdm", model)
    out = []
    with torch.inference_mode():
        for chunk in frames.split(batch):
            images = chunk.permute(0, 3, 1, 2).float()[:, None] / 255.0  # [B, 1, 3, H, W], as the camera observation
            out.append(agdm.encode_frames(images)[:, 0])
    return torch.cat(out)


def feature_drift(pretrained: torch.nn.Module, tuned: torch.nn.Module, frames: torch.Tensor) -> float:
    """Δ_feat of `tuned` against `pretrained` over `frames` (uint8 [N, H, W, 3])."""
    return float((frame_features(tuned, frames).mean(0) - frame_features(pretrained, frames).mean(0)).norm())


def drift_table(result: dict) -> str:
    """Markdown of a feature-drift result ({"split", "views", "reference_mean_norm", "drift": {policy: Δ_feat}}):
    Δ_feat per policy and relative to the pretrained mean feature's norm."""
    scale = result["reference_mean_norm"]
    lines = [f"| policy | Δ_feat on {result['split']} ({result['views']} views) | relative to ‖mean F_pre‖ = "
             f"{scale:.3f} |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {d:.4f} | {d / scale:.3f} |" for name, d in result["drift"].items()]
    return "\n".join(lines) + "\n"
