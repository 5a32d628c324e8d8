"""Any policy that keeps the NavBench-GS contract (s2e.navbench.contract) driving an S2E-Urban / NavBench-GS env.

`apply_policy_spec` makes the task give what the policy declared (the camera's size, field of view and
frame count, the waypoint action's count and spacing) before the env is built; `ContractPolicy` then turns
the env's state into the contract's observation batch each step and the policy's answer into the env's
action: waypoints go through the task's waypoint controller as AGDM's do, a velocity command is clipped
to the robot's limits and replaces the controller's output.
"""

from __future__ import annotations

import numpy as np
import torch

from s2e.navbench.contract import PolicySpec, check_action

from ..tasks.urban.mdp.navigation_command import heading_velocity
from ..tasks.urban.urban_env_cfg import route_lookahead


def apply_policy_spec(cfg, spec: PolicySpec) -> None:
    """Set the env cfg's camera and waypoint action to what the policy declared."""
    camera = cfg.scene.camera
    camera.height, camera.width = spec.image_size
    camera.hfov_deg, camera.history = spec.hfov_deg, spec.context
    controller = cfg.actions.nav.controller
    controller.num_waypoints, controller.waypoint_dt = spec.num_waypoints, spec.waypoint_dt


class ContractPolicy:
    """`policy(obs) -> action` for the evaluation loop, around a contract policy (an object or a PolicyClient)."""

    def __init__(self, env, policy, spec: PolicySpec):
        base = env.unwrapped
        self.base, self.policy, self.spec = base, policy, spec
        self.nav = base.command_manager.get_term("nav")
        self.term = base.action_manager.get_term("nav")
        self.camera = base.scene.sensors["camera"]
        self.lookahead = route_lookahead(base.cfg)
        limits = self.term.spec
        self._low = torch.tensor([self.term.ctrl.min_lin_vel, -limits.max_ang_vel], device=base.device)
        self._high = torch.tensor([limits.max_lin_vel, limits.max_ang_vel], device=base.device)

    def observation(self) -> dict[str, np.ndarray]:
        """The contract's observation batch of the env's current state (s2e.navbench.contract.OBSERVATION_KEYS)."""
        nav = self.nav

        def host(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().numpy()

        return {"rgb": host(self.camera.data.rgb), "goal": host(nav.command[:, :2]).astype(np.float32),
                "route_point": host(nav.route_goal(self.lookahead)).astype(np.float32),
                "velocity": host(heading_velocity(nav.robot)).astype(np.float32),
                "reset": host(self.base.episode_length_buf == 0)}

    def __call__(self, obs) -> torch.Tensor:
        answer = check_action(self.policy(self.observation()), self.spec, self.base.num_envs)
        device, w = self.base.device, self.spec.num_waypoints
        if self.spec.output == "velocity":
            command = torch.from_numpy(answer["velocity"]).to(device)
            self.term.velocity_override = torch.maximum(torch.minimum(command, self._high), self._low)
            return torch.zeros(self.base.num_envs, 2 * w + 1, device=device)
        self.term.velocity_override = None
        waypoints = torch.from_numpy(answer["waypoints"])
        if "speed_scale" in answer:  # normalized: metres = waypoints * speed_scale * waypoint_dt
            scale = torch.from_numpy(answer["speed_scale"])
        else:  # metres: as normalized waypoints at a speed scale of 1 m/s
            scale = torch.ones(len(waypoints))
            waypoints = waypoints / self.spec.waypoint_dt
        return torch.cat([waypoints.flatten(1), scale[:, None]], dim=1).to(device)
