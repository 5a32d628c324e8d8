"""The urban blocks as an Isaac Lab terrain: one block per env, static collision geometry, env origins.

Isaac Lab's terrain importer is the scene entity that owns static world geometry and decides env
origins; this subclass generates one `s2e.urban` layout per env (seed + env index, so the same seed
gives the same blocks), authors the ground, curbs, building facades, street furniture and static
obstacles as UsdPhysics colliders at each env's tile, and keeps the layouts for the MDP terms.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from pxr import Gf, UsdGeom, UsdPhysics

import isaaclab.sim as sim_utils
from isaaclab.cloner import grid_transforms
from isaaclab.terrains import TerrainImporter, TerrainImporterCfg
from isaaclab.utils import configclass

from s2e.urban.layout import CYLINDER, UrbanLayout, UrbanLayoutCfg, boxes_as_footprints, collision_footprints, generate_layout


class UrbanTerrainImporter(TerrainImporter):
    """Generates and spawns the per-env urban blocks (see module docstring)."""

    cfg: UrbanTerrainImporterCfg

    def __init__(self, cfg: UrbanTerrainImporterCfg):
        self.cfg = cfg
        self.device = sim_utils.SimulationContext.instance().device
        self.terrain_prim_paths = []
        self.terrain_origins = None
        self.env_origins = None
        self._terrain_flat_patches = {}
        if cfg.env_spacing is None or cfg.env_spacing < cfg.layout.size:
            cfg.env_spacing = cfg.layout.size
        origins, _ = grid_transforms(cfg.num_envs, cfg.env_spacing)
        self.env_origins = torch.as_tensor(np.asarray(origins), dtype=torch.float, device=self.device)
        self.layouts: list[UrbanLayout] = [generate_layout(cfg.layout, cfg.seed * 100_003 + i) for i in range(cfg.num_envs)]
        self._spawn(self.env_origins.cpu().numpy())

    def set_debug_vis(self, debug_vis: bool) -> bool:
        return False

    def _spawn(self, origins: np.ndarray) -> None:
        stage = sim_utils.get_current_stage()
        root = self.cfg.prim_path + "/urban"
        self.terrain_prim_paths.append(root)
        UsdGeom.Xform.Define(stage, root)
        lo, hi = origins[:, :2].min(0) - self.cfg.layout.size, origins[:, :2].max(0) + self.cfg.layout.size
        ground = ((lo + hi) / 2).tolist() + [-0.05]
        _static_box(stage, f"{root}/ground", ground, (hi[0] - lo[0], hi[1] - lo[1], 0.1), 0.0)
        for i, (layout, origin) in enumerate(zip(self.layouts, origins)):
            tile = f"{root}/tile_{i}"
            xf = UsdGeom.Xform.Define(stage, tile)
            xf.AddTranslateOp().Set(Gf.Vec3d(float(origin[0]), float(origin[1]), 0.0))
            static = np.concatenate([boxes_as_footprints(layout.buildings), boxes_as_footprints(layout.curbs), layout.obstacles])
            for k, (cx, cy, yaw, hx, hy, h, shape) in enumerate(static):
                if shape == CYLINDER:
                    _static_cylinder(stage, f"{tile}/c{k}", (cx, cy, h / 2), float(hx), float(h))
                else:
                    _static_box(stage, f"{tile}/b{k}", (cx, cy, h / 2), (2 * hx, 2 * hy, h), float(yaw))

    def footprints(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All static footprints per env, padded: ([E, O, 7] tile frame, valid [E, O])."""
        fps = [collision_footprints(l) for l in self.layouts]
        o = max(len(f) for f in fps)
        out = torch.zeros(len(fps), o, 7, device=self.device)
        valid = torch.zeros(len(fps), o, dtype=torch.bool, device=self.device)
        for i, f in enumerate(fps):
            out[i, : len(f)] = torch.as_tensor(f, device=self.device)
            valid[i, : len(f)] = True
        return out, valid


def _static_box(stage, path: str, center, size, yaw: float) -> None:
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(*map(float, center)))
    cube.AddOrientOp().Set(Gf.Quatf(math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)))
    cube.AddScaleOp().Set(Gf.Vec3f(*map(float, size)))
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())


def _static_cylinder(stage, path: str, center, radius: float, height: float) -> None:
    cyl = UsdGeom.Cylinder.Define(stage, path)
    cyl.CreateRadiusAttr(radius)
    cyl.CreateHeightAttr(height)
    cyl.CreateAxisAttr(UsdGeom.Tokens.z)
    cyl.AddTranslateOp().Set(Gf.Vec3d(*map(float, center)))
    UsdPhysics.CollisionAPI.Apply(cyl.GetPrim())


@configclass
class UrbanTerrainImporterCfg(TerrainImporterCfg):
    """One procedural block per env; `layout` sets its size and content, `seed` makes it reproducible."""

    class_type: type = UrbanTerrainImporter
    prim_path: str = "/World/ground"
    terrain_type: str = "plane"  # not used: the importer authors its own geometry
    layout: UrbanLayoutCfg = UrbanLayoutCfg()
    seed: int = 0
    """Block seed: env i gets layout seed (seed * 100003 + i)."""
    env_spacing: float | None = None
    num_envs: int | None = None
    """Set by the scene."""
