"""Open-loop AGDM metrics on a batch (the offline numbers reported next to the closed-loop ones).

Distances are in metres: a predicted mode is converted with its own predicted speed
(mu * v_m * waypoint_dt) and compared with the true metric waypoints, so speed errors count.
"""

from __future__ import annotations

import math

import torch

from ..models.agdm import AGDMOutput


def max_angle_error_deg(pred: torch.Tensor, truth: torch.Tensor, min_dist: float = 1e-3) -> torch.Tensor:
    """CityWalker's MAOE per row: max over steps of the angle between predicted and true waypoint
    directions (seen from the robot), in degrees. pred, truth [B, W, 2] -> [B].

    Steps whose true or predicted waypoint is within `min_dist` of the robot have no direction
    and count as 0.
    """
    diff = torch.atan2(pred[..., 1], pred[..., 0]) - torch.atan2(truth[..., 1], truth[..., 0])
    err = torch.remainder(diff + math.pi, 2 * math.pi) - math.pi
    valid = (pred.norm(dim=-1) > min_dist) & (truth.norm(dim=-1) > min_dist)
    return torch.rad2deg(torch.where(valid, err.abs(), torch.zeros_like(err))).amax(-1)


@torch.no_grad()
def trajectory_metrics(pred: torch.Tensor, truth: torch.Tensor) -> dict[str, float]:
    """Batch-mean ADE / FDE (m) and MAOE (deg) of one metric trajectory per row, pred/truth [B, W, 2]
    (for single-trajectory baselines; a mixture's top mode gives the same numbers in open_loop_metrics)."""
    err = (pred - truth).norm(dim=-1)
    return {"ADE": err.mean().item(), "FDE": err[:, -1].mean().item(),
            "MAOE": max_angle_error_deg(pred, truth).mean().item(), "count": int(pred.shape[0])}


@torch.no_grad()
def open_loop_metrics(out: AGDMOutput, batch: dict, winner: torch.Tensor | None = None) -> dict[str, float]:
    """Batch-mean metrics: minADE / minFDE over modes, ADE / FDE / MAOE of the top-scored mode
    (metres, degrees), speed error of the top mode (m/s), anchor accuracy (top mode == winner mode
    of the loss: `winner` [B] from AGDM.winner, default the best-fitting predicted mode), NLL (mean
    -log q(w) of the normalized ground truth). `count` = batch size, for weighting when averaging
    over batches.
    """
    truth = batch["metric_waypoints"]
    pred = out.metric_mu()  # [B, M, W, 2]
    err = (pred - truth[:, None]).norm(dim=-1)  # [B, M, W]
    ade, fde = err.mean(-1), err[..., -1]
    top = out.logits.argmax(-1)
    rows = torch.arange(top.shape[0], device=top.device)
    mix = out.mixture()
    winner = mix.winner(batch["waypoints"]) if winner is None else winner
    return {
        "minADE": ade.min(1).values.mean().item(),
        "minFDE": fde.min(1).values.mean().item(),
        "ADE": ade[rows, top].mean().item(),
        "FDE": fde[rows, top].mean().item(),
        "MAOE": max_angle_error_deg(pred[rows, top], truth).mean().item(),
        "speed_err": (out.speed[rows, top] - batch["speed"]).abs().mean().item(),
        "anchor_acc": (top == winner).float().mean().item(),
        "nll": -mix.log_prob(batch["waypoints"]).mean().item(),
        "count": int(top.shape[0]),
    }


@torch.no_grad()
def model_metrics(model, batch: dict) -> dict[str, float]:
    """open_loop_metrics of an AGDM on one batch, anchor accuracy by the model's own assignment rule."""
    out = model(batch["images"], batch["goal"])
    return open_loop_metrics(out, batch, model.winner(out, batch["waypoints"]))
