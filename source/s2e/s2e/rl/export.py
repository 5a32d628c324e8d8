"""Export a fine-tuned AGDM policy for deployment: TorchScript and ONNX, checked against PyTorch.

The deployed policy is the deterministic one: camera frames and goal in, the top-scored mode's
normalized waypoints and speed out (the env action layout, [B, 2W + 1]); the robot's waypoint
controller turns it into velocity commands. Frozen parts and RAM branches are both inside.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..utils.files import atomic_path


class DeployablePolicy(nn.Module):
    """images [B, k, 3, H, W] in [0, 1], goal [B, 2] (m, robot frame) -> action [B, 2W + 1]."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model  # forward(images, goal) -> AGDMOutput (AGDM or RAMPolicyModel)

    def forward(self, images: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        out = self.model(images, goal)
        top = out.logits.argmax(-1)
        w = out.mu.shape[-2]
        waypoints = out.mu.gather(1, top[:, None, None, None].expand(-1, 1, w, 2)).squeeze(1)
        speed = out.speed.gather(1, top[:, None])
        return torch.cat([waypoints.flatten(1), speed], dim=-1)


def export_policy(model: nn.Module, images: torch.Tensor, goal: torch.Tensor, out_dir: str | Path,
                  atol: float = 1e-4) -> dict:
    """Write policy.pt (TorchScript) and policy.onnx to out_dir and check both against PyTorch on the
    example inputs; raises RuntimeError if either differs by more than atol. Returns the paths and errors."""
    import onnxruntime as ort

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    policy = DeployablePolicy(model).eval().cpu()
    images, goal = images.detach().float().cpu(), goal.detach().float().cpu()
    with torch.no_grad():
        reference = policy(images, goal)
        traced = torch.jit.trace(policy, (images, goal), check_trace=False)
    ts_path, onnx_path = out_dir / "policy.pt", out_dir / "policy.onnx"
    with atomic_path(ts_path) as tmp:
        traced.save(str(tmp))
    # one self-contained file (weights inside, far below protobuf's 2 GB): it deploys by copying it alone
    with atomic_path(onnx_path) as tmp:
        torch.onnx.export(policy, (images, goal), str(tmp), input_names=["images", "goal"], output_names=["action"],
                          dynamic_shapes={"images": {0: torch.export.Dim("batch")},
                                          "goal": {0: torch.export.Dim("batch")}},
                          opset_version=18, dynamo=True, external_data=False, verbose=False)
    with torch.no_grad():
        ts_out = torch.jit.load(str(ts_path))(images, goal)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    onnx_out = session.run(["action"], {"images": images.numpy(), "goal": goal.numpy()})[0]
    errors = {"torchscript": float((ts_out - reference).abs().max()),
              "onnx": float(np.abs(onnx_out - reference.numpy()).max())}
    bad = {k: v for k, v in errors.items() if not v <= atol}
    if bad:
        raise RuntimeError(f"exported policy differs from PyTorch: max abs error {bad} > {atol}")
    return {"torchscript": str(ts_path), "onnx": str(onnx_path), "max_abs_error": errors}
