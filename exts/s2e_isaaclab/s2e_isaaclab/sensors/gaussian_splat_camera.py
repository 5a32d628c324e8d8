"""A camera that renders each env's Gaussian-splat scene from a body of the robot.

The static scene (the env's urban block as Gaussians in the camera's appearance family, or a captured
scene bundle) is built once and stays resident on the device; each update only re-poses the walking
people (per-actor Gaussian sets read from the physics bodies) and renders all due envs in one batched
call (gsplat on CUDA, our rasterizer on CPU, which skips the Gaussians outside each camera's frustum
with a grid built once: s2e.rendering.culling), then adds the family's haze, white balance and
exposure. Each env keeps a ring buffer of its last `history` frames, newest last, filled
with the first frame after a reset, so a policy always sees a full context.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import warp as wp

import isaaclab.sim as sim_utils
from isaaclab.sensors import SensorBase

from s2e.rendering import GaussianScene, render
from s2e.rendering.backdrop import fill_backdrop
from s2e.rendering.cameras import intrinsics_from_fov, mount_rotation, rotmat_from_quat_xyzw, viewmats_from_body
from s2e.rendering.culling import FrustumCuller
from s2e.rendering.render import resolve_backend
from s2e.urban.families import appearance_family, family_blocks_gaussians, family_obstacles_gaussians, finish_image
from s2e.urban.layout import distinct_layouts
from s2e.urban.pedestrian_gaussians import PedestrianGaussians, advance_phase

from ..scenes.urban_terrain import UrbanTerrainImporter

if TYPE_CHECKING:
    from .gaussian_splat_camera_cfg import GaussianSplatCameraCfg


ENV_SLOT = re.compile(r"env_(\.\*|\[\^/\]\+)")
"""The env part of a resolved '{ENV_REGEX_NS}' prim path expression."""


@dataclass
class GaussianSplatCameraData:
    rgb: torch.Tensor = None
    """[E, k, H, W, 3] uint8, the last k frames (newest last)."""
    depth: torch.Tensor = None
    """[E, k, H, W, 1] float32 expected depth (m), clipped to max_depth."""
    pos_w: torch.Tensor = None
    """[E, 3] camera position in the world at the newest frame."""
    viewmats: torch.Tensor = None
    """[E, 4, 4] world-to-camera (OpenCV axes) at the newest frame."""
    intrinsics: torch.Tensor = None
    """[E, 3, 3]."""


def body_indices(paths: Sequence[str], pattern: str, num_envs: int) -> list[list[int]]:
    """Indices of the physics bodies matching `pattern` (its 'env_.*' part is the env slot), grouped by env."""
    slot = ENV_SLOT.search(pattern)
    if slot is None:
        raise ValueError(f"prim path '{pattern}' has no env slot: write it with '{{ENV_REGEX_NS}}/...'")
    regex = re.compile(pattern[: slot.start()] + r"env_(\d+)" + pattern[slot.end():] + "$")
    per_env: list[list[int]] = [[] for _ in range(num_envs)]
    for i, path in enumerate(paths):
        m = regex.match(path)
        if m and int(m.group(1)) < num_envs:
            per_env[int(m.group(1))].append(i)
    return per_env


class GaussianSplatCamera(SensorBase):
    """Batched Gaussian-splat rendering of every env from its robot's camera, with a k-frame history (see module
    docstring)."""

    cfg: GaussianSplatCameraCfg

    def __init__(self, cfg: GaussianSplatCameraCfg):
        unknown = set(cfg.data_types) - {"rgb", "depth"}
        if unknown:
            raise ValueError(f"GaussianSplatCamera: unknown data_types {sorted(unknown)}; choose from 'rgb', 'depth'")
        if cfg.history < 1:
            raise ValueError(f"GaussianSplatCamera: history must be >= 1, got {cfg.history}")
        self._family = appearance_family(cfg.appearance)
        super().__init__(cfg)
        self._data = GaussianSplatCameraData()

    def __str__(self) -> str:
        return (f"GaussianSplatCamera @ {self.cfg.prim_path}: {self.cfg.width}x{self.cfg.height}, "
                f"hfov {self.cfg.hfov_deg} deg, history {self.cfg.history}, backend {self.cfg.backend}")

    @property
    def data(self) -> GaussianSplatCameraData:
        self._update_outdated_buffers()
        return self._data

    @property
    def scene(self) -> GaussianScene:
        """The Gaussians of every env as rendered last ([E, N, ...], tile frames)."""
        return self._scene

    # -- set-up ------------------------------------------------------------------------------------

    def _initialize_impl(self):
        super()._initialize_impl()
        sim = sim_utils.SimulationContext.instance()
        self._bodies = sim.physics_manager.get_scene_data_backend()
        self._terrain = UrbanTerrainImporter.current()
        self._origins = self._terrain.env_origins.to(self._device)
        paths = self._bodies.transform_paths
        mounts = body_indices(paths, self.cfg.prim_path, self._num_envs)
        if any(len(m) != 1 for m in mounts):
            raise RuntimeError(f"GaussianSplatCamera: prim_path '{self.cfg.prim_path}' must match exactly one body per "
                               f"env (matched {[len(m) for m in mounts][:4]}...); bodies look like "
                               f"'{paths[0] if paths else None}'")
        self._mount_ids = torch.tensor([m[0] for m in mounts], device=self._device)
        env_ns = self.cfg.prim_path[: ENV_SLOT.search(self.cfg.prim_path).end()]
        actor_pattern = (self.cfg.actors_prim_path.replace("{ENV_REGEX_NS}", env_ns) if self.cfg.actors_prim_path
                         else None)
        actors = body_indices(paths, actor_pattern, self._num_envs) if actor_pattern else []
        num_actors = min((len(a) for a in actors), default=0)
        self._actor_ids = torch.tensor([a[:num_actors] for a in actors], dtype=torch.long, device=self._device) \
            if num_actors else torch.zeros(self._num_envs, 0, dtype=torch.long, device=self._device)
        self._people = PedestrianGaussians(self._num_envs * num_actors, seed=self.cfg.gaussian_seed,
                                           device=self._device) \
            if num_actors else None
        self._phase = torch.zeros(self._num_envs, num_actors, device=self._device)
        self._last_actor_xy = None
        self._build_scene(num_actors)
        self._offset = torch.tensor(self.cfg.offset_pos, device=self._device)
        self._mount = mount_rotation(math.radians(self.cfg.pitch_deg), math.radians(self.cfg.yaw_deg)).to(self._device)
        k = intrinsics_from_fov(self.cfg.width, self.cfg.height, self.cfg.hfov_deg, device=self._device)
        e, h, w, n = self._num_envs, self.cfg.height, self.cfg.width, self.cfg.history
        self._data.intrinsics = k.expand(e, 3, 3).contiguous()
        if "rgb" in self.cfg.data_types:
            self._data.rgb = torch.zeros(e, n, h, w, 3, dtype=torch.uint8, device=self._device)
        if "depth" in self.cfg.data_types:
            self._data.depth = torch.zeros(e, n, h, w, 1, device=self._device)
        self._data.pos_w = torch.zeros(e, 3, device=self._device)
        self._data.viewmats = torch.eye(4, device=self._device).repeat(e, 1, 1)
        self._fresh = torch.ones(e, dtype=torch.bool, device=self._device)
        self._tile_view = torch.eye(4, device=self._device).repeat(e, 1, 1)
        self._background = torch.tensor(self._family.sky, device=self._device)
        self._ground = torch.tensor(self._family.ground_plane, device=self._device)

    def _build_scene(self, num_actors: int) -> None:
        """Static Gaussians per env (resident), followed by a slot for each env's people."""
        bundle = getattr(self._terrain, "bundle", None)
        # the capture, plus the obstacles spawned on it (NavBench-GS's obstacle tasks on a bundle)
        if bundle is not None:
            blocks, block_of_env = distinct_layouts(self._terrain.layouts)
            made = [GaussianScene.cat([bundle.gaussians,
                                       family_obstacles_gaussians(b, self._family, self.cfg.gaussian_seed)])
                    if len(b.obstacles) else bundle.gaussians for b in blocks]
            statics = [made[b] for b in block_of_env]
        else:
            blocks, block_of_env = distinct_layouts(self._terrain.layouts)  # envs sharing a block share its Gaussians
            made = family_blocks_gaussians(blocks, self._family, seed=self.cfg.gaussian_seed)
            statics = [made[b] for b in block_of_env]
        static = GaussianScene.stack_padded(statics).to(self._device)
        self._num_static = static.num_gaussians
        if self._people is not None:
            people = self._people.gaussians(torch.zeros(self._people.num_actors, 2, device=self._device),
                                            torch.zeros(self._people.num_actors, device=self._device),
                                            torch.zeros(self._people.num_actors, device=self._device),
                                            visible=torch.zeros(self._people.num_actors, dtype=torch.bool,
                                                                device=self._device))
            people = self._per_env(people, num_actors)
            static = GaussianScene.cat([static, people])
        self._scene = static
        dynamic = static.num_gaussians - self._num_static
        on_cpu = resolve_backend(self.cfg.backend, static.device) == "cpu"
        self._culler = FrustumCuller(static, num_dynamic=dynamic) if self.cfg.cull and on_cpu else None

    def _per_env(self, people: GaussianScene, num_actors: int) -> GaussianScene:
        """[E*P, Np, ...] actor sets -> [E, P*Np, ...]."""
        e = self._num_envs
        fold = lambda t: t.reshape((e, -1) + t.shape[2:])
        return GaussianScene(fold(people.means), fold(people.quats), fold(people.scales), fold(people.opacities),
                             fold(people.sh))

    # -- per step ----------------------------------------------------------------------------------

    def reset(self, env_ids: Sequence[int] | None = None, env_mask: wp.array | None = None):
        super().reset(env_ids, env_mask)
        if not self.is_initialized:
            return
        mask = wp.to_torch(self._resolve_indices_and_mask(env_ids, env_mask)).bool()
        self._fresh |= mask

    def _body_poses(self, ids: torch.Tensor) -> torch.Tensor:
        """[B, 7] (x, y, z, qx, qy, qz, qw) world poses of physics bodies."""
        return wp.to_torch(self._bodies.transforms.transforms)[ids].to(self._device)

    def _pose_people(self) -> None:
        if self._people is None:
            return
        pose = self._body_poses(self._actor_ids.reshape(-1)).reshape(self._num_envs, -1, 7)
        xy = pose[..., :2] - self._origins[:, None, :2]
        q = pose[..., 3:7]
        yaw = torch.atan2(2 * (q[..., 3] * q[..., 2] + q[..., 0] * q[..., 1]),
                          1 - 2 * (q[..., 1] ** 2 + q[..., 2] ** 2))
        visible = pose[..., 2] > -1.0  # inactive pedestrians are parked underground
        if self._last_actor_xy is not None:
            step = (xy - self._last_actor_xy).norm(dim=-1)
            step = torch.where(step < 1.0, step, 0.0)  # a teleport (respawn) is not a stride
            self._phase = advance_phase(self._phase, step, 1.0)
        self._last_actor_xy = xy
        people = self._people.gaussians(xy.reshape(-1, 2), yaw.reshape(-1), self._phase.reshape(-1),
                                        visible=visible.reshape(-1))
        people = self._per_env(people, self._actor_ids.shape[1])
        s = self._scene
        n = self._num_static
        s.means[:, n:] = people.means
        s.quats[:, n:] = people.quats
        s.scales[:, n:] = people.scales
        s.opacities[:, n:] = people.opacities
        s.sh[:, n:, : people.sh.shape[-2]] = people.sh

    def _update_buffers_impl(self, env_mask: wp.array):
        ids = torch.nonzero(wp.to_torch(env_mask)).squeeze(-1).to(self._device)
        if ids.numel() == 0:
            return
        self._pose_people()
        pose = self._body_poses(self._mount_ids[ids])
        pos = pose[:, :3] - self._origins[ids]
        view = viewmats_from_body(pos, rotmat_from_quat_xyzw(pose[:, 3:7]), self._offset, self._mount)
        every = ids.numel() == self._num_envs
        scene = self._scene if every else self._scene_subset(ids)
        culler = self._culler if every or self._culler is None else self._culler.select(ids)
        rgb, depth = self._render(scene, view, self._data.intrinsics[ids], self.cfg.width, self.cfg.height, culler)
        rgb = (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        self._push(ids, rgb, depth)
        self._tile_view[ids] = view
        world_view = view.clone()
        world_view[:, :3, 3] -= (view[:, :3, :3] @ self._origins[ids, :, None])[..., 0]
        self._data.viewmats[ids] = world_view
        self._data.pos_w[ids] = pose[:, :3] + (rotmat_from_quat_xyzw(pose[:, 3:7]) @ self._offset[:, None])[..., 0]

    def _render(self, scene: GaussianScene, view: torch.Tensor, k: torch.Tensor, width: int, height: int,
                culler: FrustumCuller | None = None):
        """rgb [B, H, W, 3] and depth [B, H, W, 1] of one camera per scene: the splats over the sky and ground plane
        (s2e.rendering.backdrop), finished with the family's haze, white balance and exposure."""
        out = render(scene, view[:, None], k[:, None], width, height, backend=self.cfg.backend,
                     antialiased=self.cfg.antialiased, near_plane=self.cfg.near_plane, culler=culler)
        rgb, depth = fill_backdrop(out.rgb[:, 0], out.alpha[:, 0], out.depth[:, 0], view, k, self._background,
                                   self._ground, self.cfg.max_depth)
        return finish_image(rgb, depth, self._family), depth

    def render_preview(self, env_ids: Sequence[int], width: int, height: int,
                       hfov_deg: float | None = None) -> torch.Tensor:
        """The current first-person view of some envs at another resolution ([B, H, W, 3] uint8), for videos."""
        _ = self.data  # bring poses up to date
        ids = torch.as_tensor(env_ids, device=self._device).reshape(-1)
        k = intrinsics_from_fov(width, height, hfov_deg or self.cfg.hfov_deg, device=self._device)
        k = k.expand(len(ids), 3, 3)
        culler = self._culler.select(ids) if self._culler is not None else None
        rgb, _ = self._render(self._scene_subset(ids), self._tile_view[ids], k, width, height, culler)
        return (rgb.clamp(0, 1) * 255 + 0.5).to(torch.uint8)

    def _scene_subset(self, ids: torch.Tensor) -> GaussianScene:
        s = self._scene
        return GaussianScene(s.means[ids], s.quats[ids], s.scales[ids], s.opacities[ids], s.sh[ids])

    def _push(self, ids: torch.Tensor, rgb: torch.Tensor, depth: torch.Tensor) -> None:
        """Append the new frame to each env's ring buffer (a fresh env's buffer is filled with it)."""
        fresh = self._fresh[ids]
        for buf, frame in ((self._data.rgb, rgb), (self._data.depth, depth)):
            if buf is None:  # not among cfg.data_types
                continue
            rolled = torch.cat([buf[ids, 1:], frame[:, None]], dim=1)
            filled = frame[:, None].expand_as(rolled)
            buf[ids] = torch.where(fresh.view(-1, 1, 1, 1, 1), filled, rolled)
        self._fresh[ids] = False
