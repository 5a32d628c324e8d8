"""An AGDM checkpoint behind the NavBench-GS policy contract (s2e.navbench.contract).

It acts as `--method agdm` does (the top mode's mean trajectory on the last frames and the route
guidance point) but through the contract's NumPy batches, so the contract path itself is tested against
the direct one: the same checkpoint gives the same episodes, outcome by outcome.

    ./isaaclab.sh -p scripts/eval_navbench.py --method policy --policy s2e.navbench.agdm_contract:make_policy \
        --policy_kwargs checkpoint=assets/agdm/agdm_wheeled.pt
"""

from __future__ import annotations

import numpy as np
import torch

from ..models.frame_window import FrameFeatureWindow
from ..rl.trained_policy import load_policy_model


class AGDMContractPolicy:
    def __init__(self, model: torch.nn.Module, hfov_deg: float = 90.0):
        self.model = model.eval()
        self.window = FrameFeatureWindow(model.encode_frames)  # as AGDMPolicy: only each step's new frame is encoded
        cfg = model.cfg
        self.spec = {"image_size": list(cfg.image_size), "hfov_deg": hfov_deg, "context": cfg.context,
                     "num_waypoints": cfg.num_waypoints, "waypoint_dt": cfg.waypoint_dt, "output": "waypoints"}

    @torch.inference_mode()
    def __call__(self, observation: dict) -> dict:
        rgb = torch.from_numpy(np.asarray(observation["rgb"])).permute(0, 1, 4, 2, 3).float() / 255.0
        goal = torch.from_numpy(np.asarray(observation["route_point"], dtype=np.float32))
        feats = self.window(rgb, torch.from_numpy(np.asarray(observation["reset"], dtype=bool)))
        action = self.model.forward_features(feats, goal).action("best")
        w = self.model.cfg.num_waypoints
        return {"waypoints": action[:, : 2 * w].reshape(-1, w, 2).numpy(), "speed_scale": action[:, 2 * w].numpy()}


def make_policy(checkpoint: str, hfov_deg: float = 90.0) -> AGDMContractPolicy:
    """The policy of an AGDM checkpoint, a shipped fine-tuned policy or a train_ram.py checkpoint."""
    model, _ = load_policy_model(checkpoint)
    return AGDMContractPolicy(model, hfov_deg)
