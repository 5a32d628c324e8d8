"""Policies that drive the S2E-Urban / NavBench-GS tasks, behind one call: `policy(obs) -> action`.

- `ScriptedExpertPolicy`: the privileged expert (route, obstacles, pedestrians known): an upper bound.
- `StraightToGoalPolicy`: drives straight at the episode's goal at a fixed speed, blind to everything.
- `AGDMPolicy`: an AGDM (pretrained checkpoint, or a fine-tuned run's model) on the camera frames and
  route guidance (the point on the reference route the task's route look-ahead further on), acting with its top mode;
  it encodes only each step's new frame (s2e.models.frame_window).
- `LabelRerankedAGDMPolicy`: an AGDM whose modes are re-ranked by the simulator's per-mode experience labels
  (privileged): it acts with the top mode of the target the ranking loss fits (s2e.rl.mode_ranking), so its
  closed-loop score is the ceiling of what fitting the labels can give that model.

The route look-ahead of the policies and of the expert's carrot is the env cfg's (urban_env_cfg.route_lookahead),
the same the route observation gives a policy in training.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from s2e.control.waypoint_controller import normalize_waypoints
from s2e.models.frame_window import FrameFeatureWindow
from s2e.nav.baselines import straight_to_goal
from s2e.nav.expert import ExpertCfg, ScriptedExpert
from s2e.rl.mode_ranking import reranked_logits

from ..tasks.urban.urban_env_cfg import route_lookahead


def _terms(env):
    base = env.unwrapped
    return base.command_manager.get_term("nav"), base.action_manager.get_term("nav")


def scripted_expert(env, avoid_pedestrians: bool = True, speed_fraction: float = 0.8) -> ScriptedExpert:
    """The scripted expert for `env`: its robot's controller, radius and speed limit, the pedestrians' radius and
    the task's route look-ahead as the carrot distance."""
    nav, action = _terms(env)
    cfg = env.unwrapped.cfg
    expert_cfg = ExpertCfg(avoid_pedestrians=avoid_pedestrians, speed=speed_fraction * nav.spec.max_lin_vel,
                           lookahead=route_lookahead(cfg))
    return ScriptedExpert(expert_cfg, action.ctrl, nav.spec.radius, cfg.commands.nav.pedestrians.radius)


class ScriptedExpertPolicy:
    def __init__(self, env, avoid_pedestrians: bool = True, speed_fraction: float = 0.8):
        self.nav, _ = _terms(env)
        self.expert = scripted_expert(env, avoid_pedestrians, speed_fraction)

    def __call__(self, obs) -> torch.Tensor:
        nav = self.nav
        xy, yaw = nav.robot_pose_2d()
        return self.expert.act(xy, yaw, nav.routes, nav.refresh().progress, nav.footprints, nav.footprint_valid,
                               nav.clearance, nav.layouts[0].size, nav.crowd.pos, nav.crowd.vel, nav.crowd.active)


class StraightToGoalPolicy:
    def __init__(self, env, speed_fraction: float = 0.5):
        self.nav, action = _terms(env)
        self.ctrl = action.ctrl
        self.speed = speed_fraction * self.nav.spec.max_lin_vel

    def __call__(self, obs) -> torch.Tensor:
        goal = self.nav.command[:, :2]
        waypoints = straight_to_goal(goal, self.speed, self.ctrl.num_waypoints, self.ctrl.waypoint_dt)
        return normalize_waypoints(waypoints, torch.full_like(goal[:, 0], self.speed), self.ctrl)


def model_task_mismatch(env_cfg, model_cfg) -> str | None:
    """Why the task cannot run an AGDM model, with the fix; None when it can. The camera must give the model's
    frames (count and size, one per policy step) and the waypoint action must read its trajectories as they were trained
    (number of waypoints and their spacing in seconds: a different spacing would silently stretch every trajectory).
    The one check of task against model: train_ram.py runs it before the env is built, AGDMPolicy and
    collect_demos.py's --policy when they get the model."""
    cam, ctrl = env_cfg.scene.camera, env_cfg.actions.nav.controller
    step_dt = env_cfg.sim.dt * env_cfg.decimation
    if cam.update_period > step_dt + 1e-9:  # the frame history must advance one frame per step (frame_window)
        return (f"the camera renders every {cam.update_period:g} s, the policy acts every {step_dt:g} s: the model's "
                "frames must be one step apart: set env.scene.camera.update_period=0")
    if (cam.history, (cam.height, cam.width)) != (model_cfg.context, tuple(model_cfg.image_size)):
        return (f"the model expects {model_cfg.context} frames of {tuple(model_cfg.image_size)}, the camera gives "
                f"{cam.history} of {(cam.height, cam.width)}: set env.scene.camera.history/height/width")
    if ctrl.num_waypoints != model_cfg.num_waypoints or not math.isclose(ctrl.waypoint_dt, model_cfg.waypoint_dt):
        return (f"the model predicts {model_cfg.num_waypoints} waypoints {model_cfg.waypoint_dt} s apart, the waypoint "
                f"action reads {ctrl.num_waypoints} {ctrl.waypoint_dt} s apart: set "
                "env.actions.nav.controller.num_waypoints/waypoint_dt")
    return None


class AGDMPolicy:
    """`decode`: best (top mode), mean or sample (see AGDMOutput.action); `goal`: route guidance (the point the env
    cfg's route look-ahead further along the route, as the route observation in training) or the final goal."""

    def __init__(self, env, model: torch.nn.Module, decode: str = "best", goal: str = "route",
                 generator: torch.Generator | None = None):
        self.nav, _ = _terms(env)
        self.model, self.lookahead = model.to(env.unwrapped.device).eval(), route_lookahead(env.unwrapped.cfg)
        self.decode, self.goal, self.generator = decode, goal, generator
        self.base = env.unwrapped
        self.window = FrameFeatureWindow(self.model.encode_frames)
        mismatch = model_task_mismatch(env.unwrapped.cfg, model.cfg)
        if mismatch:
            raise ValueError(mismatch)

    def inputs(self, obs) -> tuple[torch.Tensor, torch.Tensor]:
        """What the model sees: camera frames [E, k, 3, H, W] in [0, 1] and the goal [E, 2] (m, robot frame)."""
        goal = self.nav.route_goal(self.lookahead) if self.goal == "route" else self.nav.command[:, :2]
        return obs["camera"]["rgb"], goal

    def outputs(self, obs):
        """The model's mixture on its inputs, the frames' features taken from the window of cached ones (re-encoded
        where an env was reset): the same as model(*inputs(obs)) up to float rounding."""
        rgb, goal = self.inputs(obs)
        return self.model.forward_features(self.window(rgb, self.base.episode_length_buf == 0), goal)

    @torch.inference_mode()
    def __call__(self, obs) -> torch.Tensor:
        return self.outputs(obs).action(self.decode, generator=self.generator)


class LabelRerankedAGDMPolicy(AGDMPolicy):
    """AGDMPolicy acting with the top mode of reranked_logits (the ranking loss's target at `temperature`, with the
    model's own scores as the prior if `prior`): the labels are EnvModeLabeler's scores of the model's modes at the
    current state (privileged, as in training)."""

    def __init__(self, env, model: torch.nn.Module, temperature: float, prior: bool = True):
        from .mode_labels import EnvModeLabeler

        super().__init__(env, model)
        if temperature <= 0:
            raise ValueError(f"the re-ranking temperature must be > 0, got {temperature}")
        self.labeler, self.temperature, self.prior = EnvModeLabeler(env), float(temperature), bool(prior)

    @torch.inference_mode()
    def __call__(self, obs) -> torch.Tensor:
        out = self.outputs(obs)
        logits = reranked_logits(out.logits, self.labeler(out.mu, out.speed), self.temperature, self.prior)
        return dataclasses.replace(out, logits=logits).action("best")
