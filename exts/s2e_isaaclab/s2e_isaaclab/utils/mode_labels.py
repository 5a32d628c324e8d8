"""Per-mode experience labels from an S2E-Urban env's privileged state (the glue for s2e.nav.mode_labels).

`EnvModeLabeler(env)` is the `labeler` of s2e.rl.observation_env.AGDMObservationEnv: given the modes'
normalized waypoints and speeds it converts them to metres as the task's waypoint action does, and
scores them against the nav command's robot poses, routes, footprints, walkable clearance and
pedestrians (as the scripted expert sees them).
"""

from __future__ import annotations

import torch

from s2e.nav.mode_labels import ModeLabelCfg, ModeLabeler


class EnvModeLabeler:
    def __init__(self, env, cfg: ModeLabelCfg | None = None):
        base = env.unwrapped
        self.nav = base.command_manager.get_term("nav")
        self.ctrl = base.action_manager.get_term("nav").ctrl
        self.labeler = ModeLabeler(cfg or ModeLabelCfg(), self.nav.spec.radius, self.ctrl.waypoint_dt,
                                   base.cfg.commands.nav.pedestrians.radius)

    def metric(self, mu: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
        """Normalized waypoints [E, M, W, 2] and speeds [E, M] -> metres, as WaypointNavAction executes them."""
        scale = speed.clamp(0.0, self.ctrl.max_speed_scale) * self.ctrl.waypoint_dt
        return mu * scale[..., None, None]

    @torch.no_grad()
    def __call__(self, mu: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
        nav = self.nav
        xy, yaw = nav.robot_pose_2d()
        labels = self.labeler(self.metric(mu, speed), xy, yaw, nav.routes, nav.refresh().progress, nav.footprints,
                              nav.footprint_valid, nav.clearance, nav.layouts[0].size, nav.crowd.pos, nav.crowd.vel,
                              nav.crowd.active)
        return labels.score
