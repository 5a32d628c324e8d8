"""The S2E live view: what Isaac Lab's viser visualizer cannot show, in the same browser page.

Isaac Lab's viser visualizer draws Newton's model; the robot sees a Gaussian-splat world. This env wrapper adds
to the same viser server (or its own, when none runs) one env's world in its tile frame (the node /s2e, placed at the
env's origin, where Isaac Lab's visualizer draws that env): the Gaussian splats
(sent once per selected env), the robot, the pedestrians (each figure sent once, then only its pose), the reference
route and the goal, the robot's newest camera frame (in the sidebar and on its camera frustum) and, when a script hands
it the policy's plan (show_plan), every mode's waypoints faintly and the top-scored mode bold. The sidebar picks the
env, pauses the simulation and shows or hides Newton's colliders (hidden by default: S2E's colliders are collision-only
shapes, which Newton's viewer draws only with its collision shapes, so one sees the splat world and the robot's
drawn shapes). After each step it sends poses and the camera frame, at most every `min_interval_s`
of wall time, so that watching costs the simulation little (docs/live_view.md has the measured cost).
"""

from __future__ import annotations

import threading
import time

import gymnasium as gym
import numpy as np
import torch

from s2e.rendering import GaussianScene
from s2e.rendering.gaussians import SH_C0
from s2e.rendering.transforms import quat_from_matrix, quat_to_rotmat, yaw_quats
from s2e.urban.geometry import body_to_world
from s2e.urban.pedestrian_gaussians import PedestrianGaussians

ROOT = "/s2e"
"""Scene-tree folder of the live view's nodes (Isaac Lab's visualizer keeps its own)."""

ROUTE_COLOR, GOAL_COLOR, ROBOT_COLOR, PLAN_COLOR = (40, 110, 255), (20, 200, 60), (255, 140, 0), (255, 30, 30)


def isaaclab_viser_viewer():
    """Newton's viser viewer inside Isaac Lab's viser visualizer in this process's simulation, or None."""
    import viser

    from isaaclab.sim import SimulationContext

    sim = SimulationContext.instance()
    for visualizer in getattr(sim, "_visualizers", ()) if sim is not None else ():
        viewer = getattr(visualizer, "_viewer", None)
        if isinstance(getattr(viewer, "_server", None), viser.ViserServer):
            return viewer
    return None


COLLISION_LABEL = "Collision"
"""Label of Isaac Lab's own checkbox for Newton's collision shapes (its sidebar's "Visualization Markers" folder)."""


def add_collider_toggle(server, viewer, initial: bool = False):
    """A "show colliders" checkbox (in the current GUI folder) that shows or hides Newton's collision shapes in the
    viewer, through the viewer's own flag `show_collision`, set to `initial` now; Isaac Lab's "Collision" checkbox,
    when the page has one, follows it and drives it. Returns the checkbox.

    S2E's colliders (the blocks' static boxes and cylinders, the ground, the captured scenes' collision meshes and the
    pedestrians' capsules) are collision-only shapes (no VISIBLE flag; see scenes/urban_terrain.py), so Newton's viewer
    draws them only with its collision shapes; the robot's shapes (visual meshes, or colliders that are drawn too, as
    the wheeled robot's are) stay drawn."""
    import viser

    box = server.gui.add_checkbox("show colliders", initial_value=initial,
                                  hint="Newton's collision geometry (the blocks, obstacles, pedestrian capsules and "
                                       "the robot's colliders) over the splats")
    # viser keeps no public list of inputs
    theirs = [h for h in list(server.gui._gui_input_handle_from_uuid.values())
              if isinstance(h, viser.GuiCheckboxHandle) and h.label == COLLISION_LABEL and h is not box]

    def show(value: bool) -> None:
        viewer.show_collision = bool(value)
        for handle in (box, *theirs):
            if handle.value != value:
                handle.value = value  # runs its callbacks, which find the value already set

    box.on_update(lambda event: show(event.target.value))
    for handle in theirs:
        handle.on_update(lambda event: show(event.target.value))
    show(initial)
    return box


def splat_arrays(scene: GaussianScene) -> dict[str, np.ndarray]:
    """viser's Gaussian-splat arrays of an [N] scene without its invisible (zero-opacity) Gaussians: centres [N, 3],
    covariances R diag(s^2) R^T [N, 3, 3], RGB in [0, 1] from the degree-0 SH [N, 3] and opacities [N, 1]."""
    keep = scene.opacities > 0
    rot = quat_to_rotmat(scene.quats[keep].float())
    scales = scene.scales[keep].float()
    cov = rot @ torch.diag_embed(scales**2) @ rot.transpose(-1, -2)
    rgb = (0.5 + SH_C0 * scene.sh[keep][:, 0].float()).clamp(0, 1)
    as_np = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    return {"centers": as_np(scene.means[keep]), "covariances": as_np(cov), "rgbs": as_np(rgb),
            "opacities": as_np(scene.opacities[keep][:, None])}


def _polyline(points: np.ndarray) -> np.ndarray:
    """Consecutive segments [K-1, 2, 3] of a polyline [K, 3] (viser's line-segment layout)."""
    return np.stack([points[:-1], points[1:]], axis=1).astype(np.float32)


class LiveView(gym.Wrapper):
    """The env, with its world shown in viser and updated after every step (see module docstring)."""

    def __init__(self, env: gym.Env, server=None, port: int = 8080, min_interval_s: float = 0.1, env_id: int = 0,
                 host: str = "127.0.0.1", show_colliders: bool = False):
        super().__init__(env)
        import viser

        base = env.unwrapped
        self.base, self.nav = base, base.command_manager.get_term("nav")
        viewer = isaaclab_viser_viewer() if server is None else None
        self.server = (server or (viewer._server if viewer is not None else None)
                       or viser.ViserServer(host=host, port=port, verbose=False))
        self.camera = base.scene.sensors.get("camera")
        self.origins = self.nav.origins
        self.min_interval_s, self.frames = min_interval_s, 0
        self._last_send = 0.0
        self._plan: tuple[torch.Tensor, torch.Tensor] | None = None
        self._shown_route: np.ndarray | None = None
        self._lock = threading.Lock()  # GUI callbacks run on viser's thread
        self._num_people = self.nav.crowd.pos.shape[1] if self.nav.pedestrian_asset is not None else 0
        self._figures = PedestrianGaussians(base.num_envs * self._num_people, seed=self.camera.cfg.gaussian_seed) \
            if self._num_people and self.camera is not None else None

        scene = self.server.scene
        scene.set_up_direction("+z")
        gui = self.server.gui
        with gui.add_folder("S2E live view"):
            self.env_slider = gui.add_slider("env", min=0, max=max(base.num_envs - 1, 1), step=1, initial_value=env_id,
                                             disabled=base.num_envs == 1)
            self.pause = gui.add_checkbox("pause simulation", initial_value=False)
            # Newton's colliders hide the splat facades: hidden until asked for (None: no Newton viewer on the page)
            self.colliders = add_collider_toggle(self.server, viewer, initial=show_colliders) \
                if viewer is not None else None
            self.status = gui.add_markdown("")
            self.image = gui.add_image(np.zeros((8, 8, 3), np.uint8), label="robot camera", format="jpeg") \
                if self.camera is not None else None
        self.env_slider.on_update(lambda _: self._select(int(self.env_slider.value)))
        spec = self.nav.spec
        # the selected env's tile frame, at its origin in the world: where Isaac Lab's visualizer draws that env's
        # bodies and colliders
        self.tile = scene.add_frame(ROOT, show_axes=False)
        self.robot = scene.add_frame(f"{ROOT}/robot", axes_length=2.0 * spec.radius, axes_radius=0.03)
        scene.add_box(f"{ROOT}/robot/body", color=ROBOT_COLOR, dimensions=(2.0 * spec.radius, 1.4 * spec.radius, 0.3))
        self.frustum = None
        self.env_id = -1
        self._select(env_id)

    # -- what the scripts call ------------------------------------------------------------------------

    def show_plan(self, waypoints: torch.Tensor, scores: torch.Tensor) -> None:
        """The policy's modes for the next step: waypoints [E, M, W, 2] in each robot's frame (m) and scores [E, M]
        (the top-scored mode is drawn bold); drawn with the next update."""
        self._plan = (waypoints.detach(), scores.detach())

    def step(self, action):
        out = self.env.step(action)
        while self.pause.value:  # the simulation waits while the sidebar's pause box is ticked
            time.sleep(0.05)
        now = time.monotonic()
        if now - self._last_send >= self.min_interval_s:
            self._last_send = now
            self.update()
        return out

    def reset(self, **kwargs):
        out = self.env.reset(**kwargs)
        self.update()
        return out

    # -- drawing --------------------------------------------------------------------------------------

    def _select(self, env_id: int) -> None:
        """Send the static Gaussians and the pedestrian figures of env `env_id` (once per selection)."""
        with self._lock:
            if env_id == self.env_id:
                return
            self.env_id = env_id
            scene = self.server.scene
            self.tile.position = tuple(float(v) for v in self.origins[env_id].cpu())
            splats = self._static_splats(env_id)
            if splats is not None:
                scene.add_gaussian_splats(f"{ROOT}/splats", **splat_arrays(splats))
            self.people = []
            if self._figures is not None:
                p = self._num_people
                zeros = torch.zeros(self._figures.num_actors)
                figures = self._figures.gaussians(torch.zeros(self._figures.num_actors, 2), zeros, zeros)
                for k in range(p):
                    one = GaussianScene(*(getattr(figures, f)[env_id * p + k]
                                          for f in ("means", "quats", "scales", "opacities", "sh")))
                    self.people.append(scene.add_gaussian_splats(f"{ROOT}/people/{k}", **splat_arrays(one)))
            self._shown_route = None
        self.update()
        robot = self.nav.robot.data.root_pos_w.torch[env_id].cpu().numpy()  # world frame, as the camera's
        self.server.initial_camera.look_at = tuple(float(v) for v in robot)
        self.server.initial_camera.position = (float(robot[0]) - 8.0, float(robot[1]) - 8.0, float(robot[2]) + 10.0)

    def _static_splats(self, env_id: int) -> GaussianScene | None:
        """The env's Gaussians without its people (the tail of the camera's scene), or None without a camera."""
        if self.camera is None:
            return None
        s = self.camera.scene
        n = s.num_gaussians - (self._num_people * self._figures.num_gaussians if self._figures is not None else 0)
        return GaussianScene(s.means[env_id, :n], s.quats[env_id, :n], s.scales[env_id, :n], s.opacities[env_id, :n],
                             s.sh[env_id, :n])

    def update(self) -> None:
        """Send the selected env's poses, route, goal, camera frame and plan."""
        with self._lock:
            e = self.env_id
            if e < 0:
                return
            scene = self.server.scene
            robot = self.nav.robot.data
            pos = (robot.root_pos_w.torch[e] - self.origins[e]).cpu().numpy()
            q = robot.root_quat_w.torch[e].cpu().numpy()  # x y z w
            with self.server.atomic():
                self.robot.position = tuple(float(v) for v in pos)
                self.robot.wxyz = (float(q[3]), float(q[0]), float(q[1]), float(q[2]))
                if self.people:
                    xy = self.nav.crowd.pos[e].cpu().numpy()
                    heading = self.nav.crowd.heading[e].cpu().numpy()
                    active = self.nav.crowd.active[e].cpu().numpy()
                    for k, person in enumerate(self.people):
                        person.position = (float(xy[k, 0]), float(xy[k, 1]), 0.0)
                        person.wxyz = tuple(yaw_quats(np.array([float(heading[k])]))[0].tolist())
                        person.visible = bool(active[k])
                route = self.nav.routes[e].cpu().numpy()
                if self._shown_route is None or not np.array_equal(route, self._shown_route):
                    self._shown_route = route.copy()
                    pts = np.concatenate([route, np.full((len(route), 1), 0.05)], axis=1)
                    scene.add_line_segments(f"{ROOT}/route", _polyline(pts), colors=ROUTE_COLOR, line_width=3.0)
                    goal = self.nav.goal[e].cpu().numpy()
                    scene.add_icosphere(f"{ROOT}/goal", radius=self.nav.cfg.arrival_radius, color=GOAL_COLOR,
                                        position=(float(goal[0]), float(goal[1]), 0.1), opacity=0.6)
                self._draw_plan(e)
                self._draw_camera(e)
                state = self.nav.state
                self.status.content = (f"env {e} of {self.base.num_envs} | step {int(self.base.episode_length_buf[e])} "
                                       f"| route progress {float(state.progress[e]):.1f} m")
            self.frames += 1

    def _draw_plan(self, e: int) -> None:
        if self._plan is None:
            return
        waypoints, scores = self._plan
        xy, yaw = self.nav.robot_pose_2d()
        modes = waypoints[e].float().cpu()  # [M, W, 2], robot frame
        m, w = modes.shape[:2]
        start = torch.zeros(m, 1, 2)
        path = torch.cat([start, modes], dim=1)  # from the robot
        world = body_to_world(path.reshape(-1, 2), yaw[e].cpu().expand(m * (w + 1))).reshape(m, w + 1, 2) + xy[e].cpu()
        pts = torch.cat([world, torch.full((m, w + 1, 1), 0.08)], dim=-1).numpy()
        best = int(scores[e].argmax())
        faint = (np.concatenate([_polyline(pts[k]) for k in range(m) if k != best]) if m > 1
                 else np.zeros((0, 2, 3), np.float32))
        scene = self.server.scene
        scene.add_line_segments(f"{ROOT}/plan/modes", faint, colors=(255, 170, 170), line_width=1.0)
        scene.add_line_segments(f"{ROOT}/plan/best", _polyline(pts[best]), colors=PLAN_COLOR, line_width=5.0)

    def _draw_camera(self, e: int) -> None:
        if self.camera is None or self.camera.data.rgb is None:
            return
        data = self.camera.data
        frame = data.rgb[e, -1].cpu().numpy()
        self.image.image = frame
        cam_to_world = torch.linalg.inv(data.viewmats[e].float()).cpu()
        cam_to_world[:3, 3] -= self.origins[e].cpu()
        wxyz = quat_from_matrix(cam_to_world[:3, :3]).numpy()
        h, w = frame.shape[:2]
        fy = float(data.intrinsics[e, 1, 1])
        fov = 2 * float(np.arctan(h / (2 * fy)))
        pose = {"position": tuple(float(v) for v in cam_to_world[:3, 3]), "wxyz": tuple(float(v) for v in wxyz)}
        if self.frustum is None:
            self.frustum = self.server.scene.add_camera_frustum(f"{ROOT}/camera", fov=fov, aspect=w / h, scale=0.4,
                                                                 color=ROBOT_COLOR, image=frame, format="jpeg", **pose)
        else:
            self.frustum.image = frame
            self.frustum.position, self.frustum.wxyz = pose["position"], pose["wxyz"]

    def close(self):
        self.pause.value = False
        return self.env.close()
