"""The navigation action: 10 robot-frame waypoints + a velocity scale (what AGDM outputs), at 10 Hz.

The waypoints go through the differentiable waypoint controller F_d to a (v, omega) command, which
the robot's locomotion controller tracks:

* mode "joint" (default, evaluation): the Go2's ONNX walking policy at 50 Hz with PD at every
  physics step, or the delivery robot's differential-drive wheel speed targets;
* mode "base" (fast, RL on CPU): the base follows a first-order model of that controller's velocity
  response (fitted on the joint-level mode) and slides along what it touches instead of entering it.
"""

from __future__ import annotations

from dataclasses import MISSING
from typing import TYPE_CHECKING

import torch

from isaaclab.managers import ActionTerm, ActionTermCfg
from isaaclab.utils import configclass

from s2e.control.diff_drive import body_to_wheel_speeds
from s2e.control.first_order import FirstOrderVelocity
from s2e.control.go2_locomotion import CONTROL_DT, Go2Locomotion, Go2LocomotionCfg
from s2e.control.waypoint_controller import WaypointControllerCfg, metric_waypoints, waypoints_to_velocity
from s2e.urban.geometry import circle_distance, footprint_distance, quat_xyzw_from_yaw, yaw_from_quat_xyzw

from ....paths import asset_path
from ....robots.go2 import GO2_POLICY
from ....robots.spec import RobotSpec
from .navigation_command import heading_velocity

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv

CONTROL_MODES = ("joint", "base")


class WaypointNavAction(ActionTerm):
    cfg: WaypointNavActionCfg

    def __init__(self, cfg: WaypointNavActionCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        if cfg.mode not in CONTROL_MODES:
            raise ValueError(f"actions.nav.mode={cfg.mode!r} is not one of {CONTROL_MODES}")
        self.robot = self._asset
        self.spec: RobotSpec = cfg.robot
        self.ctrl = cfg.controller
        n = self.num_envs
        self._raw = torch.zeros(n, self.action_dim, device=self.device)
        self.cmd = torch.zeros(n, 2, device=self.device)
        self.prev_cmd = torch.zeros(n, 2, device=self.device)
        self._substep = 0
        self._nav = None
        self.velocity_override: torch.Tensor | None = None
        """When set ([E, 2] (v, omega)), replaces the waypoint controller's output (calibration, teleop)."""
        joint_names = list(self.robot.joint_names)
        if self.spec.kind == "quadruped":
            loco_cfg = cfg.go2 if cfg.go2.policy_path else Go2LocomotionCfg(policy_path=asset_path(GO2_POLICY))
            self.loco = Go2Locomotion(loco_cfg, joint_names, n, self.device)
            self._default_q = self.loco.default_joint_pos_sim.expand(n, -1).clone()
            self._loco_every = max(1, round(CONTROL_DT / env.physics_dt))
            self._targets = self._default_q.clone()
        else:
            self._wheel_ids = [joint_names.index(j) for j in ("left_wheel_joint", "right_wheel_joint")]
        if cfg.mode == "base":
            self.model = FirstOrderVelocity(self.spec.base_velocity_model, n, self.device)

    @property
    def action_dim(self) -> int:
        return 2 * self.ctrl.num_waypoints + 1

    @property
    def raw_actions(self) -> torch.Tensor:
        return self._raw

    @property
    def processed_actions(self) -> torch.Tensor:
        return self.cmd

    def process_actions(self, actions: torch.Tensor):
        self._raw[:] = actions
        self.prev_cmd = self.cmd
        self.cmd = waypoints_to_velocity(metric_waypoints(actions, self.ctrl), self.ctrl,
                                         max_lin_vel=self.spec.max_lin_vel, max_ang_vel=self.spec.max_ang_vel)
        if self.velocity_override is not None:
            self.cmd = self.velocity_override.to(self.device).expand_as(self.cmd).clone()
        self._substep = 0

    def apply_actions(self):
        if self.cfg.mode == "base":
            self._apply_base_velocity()
        elif self.spec.kind == "quadruped":
            if self._substep % self._loco_every == 0:
                self._targets = self._go2_targets(self._body_command())
            self.robot.set_joint_position_target_index(target=self._targets)
        else:
            wheels = body_to_wheel_speeds(self.cmd, self.spec.diff_drive)
            self.robot.set_joint_velocity_target_index(target=wheels, joint_ids=self._wheel_ids)
        self._substep += 1

    def reset(self, env_ids=None):
        ids = slice(None) if env_ids is None else env_ids
        self._raw[ids] = 0.0
        self.cmd[ids] = 0.0
        self.prev_cmd[ids] = 0.0
        if self.spec.kind == "quadruped":
            self.loco.reset(ids)
            self._targets[ids] = self._default_q[ids]
        if self.cfg.mode == "base":
            self.model.reset(ids)

    # -- controllers ------------------------------------------------------------------------------------

    def _body_command(self) -> torch.Tensor:
        """(vx, vy, wz) for the locomotion controller."""
        return torch.stack([self.cmd[:, 0], torch.zeros_like(self.cmd[:, 0]), self.cmd[:, 1]], dim=-1)

    def _go2_targets(self, command: torch.Tensor) -> torch.Tensor:
        d = self.robot.data
        return self.loco.compute(command, d.root_ang_vel_b.torch, d.projected_gravity_b.torch, d.joint_pos.torch,
                                 d.joint_vel.torch, heading_velocity(self.robot))

    def _apply_base_velocity(self) -> None:
        """Step the first-order base model and hand its velocity to the physics step, which moves the base.

        The base is written at its current (upright, base-height) pose, pushed out of any footprint it
        entered, with the model's velocity: the physics step then integrates that velocity once (the
        base mode runs without gravity), so the base moves v*dt per step and reports v.
        """
        dt = self._env.physics_dt
        vel = self.model.step(self._body_command(), dt)
        if self.spec.kind == "wheeled":
            vel = vel * torch.tensor([1.0, 0.0, 1.0], device=self.device)
        d = self.robot.data
        pos = self._slide(d.root_pos_w.torch[:, :2].clone())
        yaw = yaw_from_quat_xyzw(d.root_quat_w.torch)
        c, s = torch.cos(yaw), torch.sin(yaw)
        v_w = torch.stack([c * vel[:, 0] - s * vel[:, 1], s * vel[:, 0] + c * vel[:, 1]], dim=-1)
        origin_z = self._env.scene.env_origins[:, 2]
        pose = torch.cat([pos, (origin_z + self.spec.base_height)[:, None], quat_xyzw_from_yaw(yaw)], dim=-1)
        velocity = torch.zeros(self.num_envs, 6, device=self.device)
        velocity[:, :2] = v_w
        velocity[:, 5] = vel[:, 2]
        self.robot.write_root_pose_to_sim_index(root_pose=pose)
        self.robot.write_root_velocity_to_sim_index(root_velocity=velocity)
        if self.spec.kind == "quadruped":
            self.robot.set_joint_position_target_index(target=self._default_q)

    def _slide(self, pos_w: torch.Tensor) -> torch.Tensor:
        """Push the footprint circle out of static footprints and pedestrians it entered."""
        nav = self._nav_command()
        origins = self._env.scene.env_origins[:, :2]
        xy = (pos_w - origins)[:, None]
        r = self.spec.radius
        d, n = footprint_distance(xy, nav.footprints, nav.footprint_valid)
        pen = (r - d).clamp_min(0.0)
        pen = torch.where(torch.isfinite(d), pen, torch.zeros_like(pen))
        push = (pen[..., None] * n).sum(2)
        if nav.crowd.max_count:
            dp, npd = circle_distance(xy, nav.crowd.pos, nav.crowd.active)
            pen = (r + nav.cfg.pedestrians.radius - dp).clamp_min(0.0)
            pen = torch.where(torch.isfinite(dp), pen, torch.zeros_like(pen))
            push = push + (pen[..., None] * npd).sum(2)
        return pos_w + push[:, 0]

    def _nav_command(self):
        if self._nav is None:
            self._nav = self._env.command_manager.get_term(self.cfg.command_name)
        return self._nav


@configclass
class WaypointNavActionCfg(ActionTermCfg):
    class_type: type = WaypointNavAction
    asset_name: str = "robot"
    robot: RobotSpec = MISSING
    mode: str = "joint"
    """'joint' (locomotion controller in physics) or 'base' (fast first-order base-velocity model)."""
    controller: WaypointControllerCfg = WaypointControllerCfg()
    go2: Go2LocomotionCfg = Go2LocomotionCfg()
    command_name: str = "nav"
