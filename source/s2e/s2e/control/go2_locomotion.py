"""The Unitree Go2's locomotion controller: the rl_sar robot_lab walking policy, batched in torch.

The policy ships as ONNX (a 45 -> 512 -> 256 -> 128 -> 12 ELU MLP, legged-gym observation layout,
joint order FR/FL/RR/RL). It is loaded into a torch module so that it runs on the simulation device
for all envs in one call. Observation: body angular velocity * 0.25, projected gravity, the
(vx, vy, wz) command, joint positions minus the default pose, joint velocities * 0.05, last action.
Joint targets = default pose + action * (0.125, 0.25, 0.25) per leg, tracked by a PD (Kp 20, Kd 0.5).
A command slew limit and an integral velocity trim (as the Go2's own driver does) make it track slow
commands without drifting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

POLICY_LEGS = ("FR", "FL", "RR", "RL")
POLICY_JOINTS = tuple(f"{leg}_{part}_joint" for leg in POLICY_LEGS for part in ("hip", "thigh", "calf"))
DEFAULT_POSE = (0.0, 0.8, -1.5) * 4
ACTION_SCALE = (0.125, 0.25, 0.25) * 4
ANG_VEL_SCALE, JOINT_VEL_SCALE = 0.25, 0.05
KP, KD = 20.0, 0.5
CONTROL_DT = 0.02
_ACTIVATIONS = {"Elu": nn.ELU, "Relu": nn.ReLU, "Tanh": nn.Tanh}


def load_onnx_mlp(path: str | Path) -> nn.Sequential:
    """An ONNX graph made of Gemm and activation nodes as a torch `nn.Sequential` (weights copied)."""
    import onnx
    from onnx import numpy_helper

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"locomotion policy {path} does not exist: run scripts/assets/fetch_go2.sh or pass a "
                                "valid path")
    try:
        graph = onnx.load(str(path)).graph
    except Exception as err:  # onnx raises DecodeError and friends
        raise ValueError(f"locomotion policy {path} is not a readable ONNX file ({err.__class__.__name__})") from err
    weights = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    layers: list[nn.Module] = []
    for node in graph.node:
        if node.op_type == "Gemm":
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            w = weights[node.input[1]]
            w = w if attrs.get("transB", 0) else w.T
            lin = nn.Linear(w.shape[1], w.shape[0])
            lin.weight.data.copy_(w * attrs.get("alpha", 1.0))
            lin.bias.data.copy_(weights[node.input[2]] * attrs.get("beta", 1.0))
            layers.append(lin)
        elif node.op_type in _ACTIVATIONS:
            layers.append(_ACTIVATIONS[node.op_type]())
        else:
            raise ValueError(f"locomotion policy {path} has an unsupported ONNX op {node.op_type!r} (expected an MLP "
                             "of Gemm/Elu/Relu/Tanh)")
    return nn.Sequential(*layers)


@dataclass
class Go2LocomotionCfg:
    policy_path: str = ""
    max_command: tuple[float, float, float] = (1.0, 0.5, 1.5)
    command_slew: tuple[float, float, float] = (0.05, 0.04, 0.10)
    """Most the command may change per control tick (vx, vy, wz)."""
    track_velocity: bool = True
    tracker_tau: float = 0.3
    tracker_ki: tuple[float, float, float] = (1.5, 1.5, 2.0)
    tracker_limit: tuple[float, float, float] = (0.4, 0.3, 0.6)


class Go2Locomotion:
    """Batched (vx, vy, wz) -> joint position targets for N Go2s, in the simulator's joint order."""

    def __init__(self, cfg: Go2LocomotionCfg, sim_joint_names: list[str], num_envs: int, device: str | torch.device):
        self.cfg, self.device = cfg, torch.device(device)
        missing = [j for j in POLICY_JOINTS if j not in sim_joint_names]
        if missing:
            raise ValueError(f"the Go2 articulation lacks joints {missing}; it has {sim_joint_names}")
        # policy index -> sim index, and back.
        self.to_sim = torch.tensor([POLICY_JOINTS.index(j) for j in sim_joint_names], device=self.device)
        self.from_sim = torch.tensor([sim_joint_names.index(j) for j in POLICY_JOINTS], device=self.device)
        self.net = load_onnx_mlp(cfg.policy_path).to(self.device).eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.default_pose = torch.tensor(DEFAULT_POSE, device=self.device)
        self.action_scale = torch.tensor(ACTION_SCALE, device=self.device)
        self._max = torch.tensor(cfg.max_command, device=self.device)
        self._slew = torch.tensor(cfg.command_slew, device=self.device)
        self._ki = torch.tensor(cfg.tracker_ki, device=self.device)
        self._trim_limit = torch.tensor(cfg.tracker_limit, device=self.device)
        self.last_action = torch.zeros(num_envs, 12, device=self.device)
        self.command = torch.zeros(num_envs, 3, device=self.device)
        self._measured = torch.zeros(num_envs, 3, device=self.device)
        self._trim = torch.zeros(num_envs, 3, device=self.device)

    @property
    def default_joint_pos_sim(self) -> torch.Tensor:
        """The policy's default pose in the simulator's joint order [12]."""
        return self.default_pose[self.to_sim]

    def reset(self, env_ids: torch.Tensor | slice = slice(None)) -> None:
        for buf in (self.last_action, self.command, self._measured, self._trim):
            buf[env_ids] = 0.0

    @torch.no_grad()
    def compute(self, command: torch.Tensor, ang_vel_b: torch.Tensor, gravity_b: torch.Tensor, joint_pos: torch.Tensor,
                joint_vel: torch.Tensor, heading_vel: torch.Tensor) -> torch.Tensor:
        """One 50 Hz tick. Joint states in sim order; heading_vel = measured (vx, vy, wz) in the heading frame."""
        cmd = torch.maximum(torch.minimum(command, self._max), -self._max)
        self.command += torch.maximum(torch.minimum(cmd - self.command, self._slew), -self._slew)
        walk = self.command
        if self.cfg.track_velocity:
            dt = CONTROL_DT
            self._measured += dt / (self.cfg.tracker_tau + dt) * (heading_vel - self._measured)
            trim = self._trim + self._ki * (self.command - self._measured) * dt
            self._trim = torch.maximum(torch.minimum(trim, self._trim_limit), -self._trim_limit)
            walk = self.command + self._trim
        obs = torch.cat(
            [
                ang_vel_b * ANG_VEL_SCALE,
                gravity_b,
                walk,
                joint_pos[:, self.from_sim] - self.default_pose,
                joint_vel[:, self.from_sim] * JOINT_VEL_SCALE,
                self.last_action,
            ],
            dim=-1,
        ).clamp(-100, 100)
        self.last_action = self.net(obs).clamp(-100, 100)
        targets = self.default_pose + self.last_action * self.action_scale
        return targets[:, self.to_sim]
