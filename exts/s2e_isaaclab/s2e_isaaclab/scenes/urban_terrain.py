"""The urban blocks as an Isaac Lab terrain: one block per env, static collision geometry, env origins.

Isaac Lab's terrain importer is the scene entity that owns static world geometry and decides env
origins; this subclass generates one `s2e.urban` layout per env (seed + env index, so the same seed
gives the same blocks), authors one ground collider under all tiles, gives Newton each block's curbs,
building facades, street furniture and static obstacles as static shapes of that env's own world, and
keeps the layouts for the MDP terms. All of it is collision geometry only (no VISIBLE flag, USD purpose `guide`):
viewers draw it only with their collision shapes, since the world one looks at is the Gaussian splats.

Why each env's own world: static colliders outside the env namespaces become global shapes that every
world carries, so every world would hold every block and memory and collision work would grow with the
square of the env count (1,024 envs did not fit in 24 GiB). The shapes are added by a Newton
world-builder hook while Isaac Lab replicates the worlds; MuJoCo-Warp needs the same shape count and
order in every world, so each world is padded to the largest block with small shapes parked below the
ground, and `fix_mujoco_bounds` gives MuJoCo-Warp's broadphase each world's own bounding volumes (the
navigation command calls it once the solver exists, before the first step).

With `scene_bundle` set, every env gets the same captured scene instead (`s2e.urban.scene_bundle`):
its collision mesh is authored at each tile as a static triangle-mesh collider and its derived layout
feeds the MDP terms. MuJoCo's own collision detection would replace that mesh by its convex hull (a
street would become one solid blob), so the importer then switches MuJoCo-Warp to Newton's collision
pipeline, which collides with the triangles.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import warp as wp
from pxr import Gf, UsdGeom, UsdPhysics, Vt

import isaaclab.sim as sim_utils
from isaaclab.cloner import grid_transforms
from isaaclab.terrains import TerrainImporter, TerrainImporterCfg
from isaaclab.utils import configclass

from s2e.urban.layout import (
    CYLINDER,
    UrbanLayout,
    UrbanLayoutCfg,
    boxes_as_footprints,
    collision_footprints,
    generate_layout,
    with_spawned_obstacles,
)
from s2e.urban.scene_bundle import SceneBundle, load_scene_bundle
from s2e.utils.processes import parallel_map


class UrbanTerrainImporter(TerrainImporter):
    """Generates and spawns the per-env urban blocks (see module docstring)."""

    cfg: UrbanTerrainImporterCfg
    _current: UrbanTerrainImporter | None = None

    @classmethod
    def current(cls) -> UrbanTerrainImporter:
        """The terrain of the simulation being built (one per process, like the SimulationContext)."""
        if cls._current is None:
            raise RuntimeError("no UrbanTerrainImporter in this simulation: the scene needs an S2E urban terrain")
        return cls._current

    def __init__(self, cfg: UrbanTerrainImporterCfg):
        UrbanTerrainImporter._current = self
        self.cfg = cfg
        self.device = sim_utils.SimulationContext.instance().device
        self.terrain_prim_paths = []
        self.terrain_origins = None
        self.env_origins = None
        self._terrain_flat_patches = {}
        self.bundle: SceneBundle | None = (load_scene_bundle(cfg.scene_bundle, cfg.route_clearance) if cfg.scene_bundle
                                           else None)
        """The captured scene every env uses (None: procedural blocks); cameras render its Gaussians."""
        self.tile_size = self.bundle.size if self.bundle is not None else cfg.layout.size
        if self.bundle is not None:
            _use_triangle_mesh_contacts()
        if cfg.env_spacing is None or cfg.env_spacing < self.tile_size:
            cfg.env_spacing = self.tile_size
        origins, _ = grid_transforms(cfg.num_envs, cfg.env_spacing)
        self.env_origins = torch.as_tensor(np.asarray(origins), dtype=torch.float, device=self.device)
        if self.bundle is not None:
            self.layouts: list[UrbanLayout] = _bundle_layouts(self.bundle, cfg)
        else:
            self.layouts = _generate_layouts(cfg)
        self._spawn(self.env_origins.cpu().numpy())

    def set_debug_vis(self, debug_vis: bool) -> bool:
        return False

    def _spawn(self, origins: np.ndarray) -> None:
        stage = sim_utils.get_current_stage()
        root = self.cfg.prim_path + "/urban"
        self.terrain_prim_paths.append(root)
        UsdGeom.Xform.Define(stage, root)
        lo, hi = origins[:, :2].min(0) - self.tile_size, origins[:, :2].max(0) + self.tile_size
        ground = ((lo + hi) / 2).tolist() + [-0.05]
        _static_box(stage, f"{root}/ground", ground, (hi[0] - lo[0], hi[1] - lo[1], 0.1), 0.0)
        for i, (layout, origin) in enumerate(zip(self.layouts, origins)):
            tile = f"{root}/tile_{i}"
            xf = UsdGeom.Xform.Define(stage, tile)
            xf.AddTranslateOp().Set(Gf.Vec3d(float(origin[0]), float(origin[1]), 0.0))
            if self.bundle is not None:
                _static_mesh(stage, f"{tile}/collision_mesh", self.bundle.vertices, self.bundle.faces)
        self._per_world_statics = self.bundle is None or any(len(layout.obstacles) for layout in self.layouts)
        if self._per_world_statics:
            self._register_per_world_statics(root, origins)

    def _register_per_world_statics(self, root: str, origins: np.ndarray) -> None:
        """Add each env's static colliders to its own Newton world (not to the shared world -1).

        Newton builds one world per env; a hook registered here runs inside each world's
        begin_world()/end_world() during replication, so the shapes get shape_world = env index.
        SolverMuJoCo maps every world onto one MuJoCo model, so every world needs the same shape
        count and type order: boxes first, then cylinders, each padded to the largest env with small
        shapes parked far below the ground.
        """
        from isaaclab_newton.physics import NewtonManager

        per_env = []
        for layout in self.layouts:
            if self.bundle is not None:  # the collision mesh holds the capture; these are the obstacles spawned on it
                static = layout.obstacles
            else:
                static = np.concatenate([boxes_as_footprints(layout.buildings), boxes_as_footprints(layout.curbs),
                                         layout.obstacles])
            per_env.append((static[static[:, 6] != CYLINDER], static[static[:, 6] == CYLINDER]))
        n_box = max(len(b) for b, _ in per_env)
        n_cyl = max(len(c) for _, c in per_env)
        pad = np.array([0.0, 0.0, 0.0, 0.05, 0.05, 0.1, 0.0])
        parked = -50.0

        shared: dict = {}
        up = wp.vec3(0.0, 0.0, 1.0)
        yaw_quats: dict[float, wp.quat] = {}  # most shapes share a yaw (0 for the parked ones, the blocks' axes)

        def yaw_quat(yaw: float) -> wp.quat:
            if yaw not in yaw_quats:
                yaw_quats[yaw] = wp.quat_from_axis_angle(up, yaw)
            return yaw_quats[yaw]

        identity = wp.quat_identity()

        def hook(builder, world: int, _pos, _quat) -> None:
            if "cfg" not in shared:  # the global ground precedes every world: look it up once, not per world
                ground = builder.shape_label.index(f"{root}/ground")
                cfg = copy.copy(builder.default_shape_cfg)
                cfg.collision_group = builder.shape_collision_group[ground]
                cfg.mu = builder.shape_material_mu[ground]
                cfg.gap, cfg.margin = builder.shape_gap[ground], builder.shape_margin[ground]
                cfg.is_visible = False  # collision geometry only: viewers draw it with their collision shapes
                shared["cfg"] = cfg
            cfg = shared["cfg"]
            ox, oy = float(origins[world][0]), float(origins[world][1])
            boxes, cyls = per_env[world]
            for k in range(n_box):
                cx, cy, yaw, hx, hy, h, _ = boxes[k] if k < len(boxes) else pad
                z = h / 2 if k < len(boxes) else parked
                xf = wp.transform((ox + cx, oy + cy, z), yaw_quat(float(yaw)))
                builder.add_shape_box(-1, xform=xf, hx=float(hx), hy=float(hy), hz=float(h / 2), cfg=cfg,
                                      label=f"{root}/tile_{world}/b{k}")
            for k in range(n_cyl):
                cx, cy, _, r, _, h, _ = cyls[k] if k < len(cyls) else pad
                z = h / 2 if k < len(cyls) else parked
                xf = wp.transform((ox + cx, oy + cy, z), identity)
                builder.add_shape_cylinder(-1, xform=xf, radius=float(r), half_height=float(h / 2), cfg=cfg,
                                           label=f"{root}/tile_{world}/c{k}")
            if world == len(per_env) - 1 and hook in NewtonManager._per_world_builder_hooks:
                NewtonManager._per_world_builder_hooks.remove(hook)

        # isaaclab_newton's public newton_builder_world_hook is a context manager around the replication call, which
        # Isaac Lab's scene makes after this terrain is spawned; so the hook joins the same list directly and takes
        # itself off after the last world (one simulation per process, as Isaac Lab runs).
        NewtonManager._per_world_builder_hooks.append(hook)

    def fix_mujoco_bounds(self) -> None:
        """Give MuJoCo-Warp per-world bounding spheres/boxes for the per-world static geoms.

        Newton expands geom_size/pos/quat per world but leaves geom_rbound at world 0's values and
        geom_aabb unbatched, so MuJoCo's broadphase would cull contacts with any static geom larger in
        world i than the geom in the same slot of world 0. Call after the solver exists, before the
        first step (CUDA graph capture).
        """
        from isaaclab_newton.physics import NewtonManager

        s = NewtonManager._solver
        m = getattr(s, "mjw_model", None)
        if not self._per_world_statics:
            return
        if m is None:
            raise RuntimeError("fix_mujoco_bounds: the MuJoCo-Warp solver does not exist yet; call it after the "
                               "simulation starts")
        if not getattr(s, "_use_mujoco_contacts", False):
            return
        size, typ = m.geom_size.numpy(), m.geom_type.numpy()
        nw = size.shape[0]
        rb = np.repeat(m.geom_rbound.numpy()[:1], nw, 0) if m.geom_rbound.shape[0] != nw else m.geom_rbound.numpy()
        aabb = np.repeat(m.geom_aabb.numpy()[:1], nw, 0)
        for g in np.flatnonzero(typ == 6):  # mjGEOM_BOX: size = half extents
            rb[:, g] = np.linalg.norm(size[:, g], axis=1)
            aabb[:, g, 0], aabb[:, g, 1] = 0.0, size[:, g]
        for g in np.flatnonzero(typ == 5):  # mjGEOM_CYLINDER: size = (radius, half height)
            rb[:, g] = np.hypot(size[:, g, 0], size[:, g, 1])
            aabb[:, g, 0], aabb[:, g, 1] = 0.0, size[:, g][:, [0, 0, 1]]
        m.geom_rbound = wp.array(rb, dtype=float, device=m.geom_rbound.device)
        m.geom_aabb = wp.array(aabb, dtype=wp.vec3, device=m.geom_aabb.device)

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


def _bundle_layouts(bundle: SceneBundle, cfg: UrbanTerrainImporterCfg) -> list[UrbanLayout]:
    """Every env on the scene bundle; with `layout_seeds` and an obstacle density (NavBench-GS's obstacle tasks on a
    bundle), env i on the bundle with obstacles spawned from layout_seeds[i % len], none closing a passage the robot
    needs (s2e.urban.layout.with_spawned_obstacles with the route clearance)."""
    if not cfg.layout_seeds or cfg.layout.obstacles.density <= 0:
        return [bundle.layout] * cfg.num_envs
    blocks = [with_spawned_obstacles(bundle.layout, cfg.layout.obstacles, int(seed), cfg.route_clearance)
              for seed in cfg.layout_seeds]
    return [blocks[i % len(blocks)] for i in range(cfg.num_envs)]


def _generate_layouts(cfg: UrbanTerrainImporterCfg) -> list[UrbanLayout]:
    """One block per env: from `layout_seeds` round-robin (envs sharing a seed share the block), else seed * 100003 + b
    for env i's block b = i // envs_per_block (consecutive envs share one block object)."""
    if not cfg.layout_seeds:
        per = cfg.envs_per_block
        blocks = parallel_map(generate_layout, [(cfg.layout, cfg.seed * 100_003 + b)
                                                for b in range(-(-cfg.num_envs // per))])
        return [blocks[i // per] for i in range(cfg.num_envs)]
    blocks = parallel_map(generate_layout, [(cfg.layout, int(seed)) for seed in cfg.layout_seeds])
    return [blocks[i % len(blocks)] for i in range(cfg.num_envs)]


def _use_triangle_mesh_contacts() -> None:
    """Let Newton's collision pipeline detect contacts when MuJoCo's would (see the module docstring).

    The terrain is built before the solver (at the first sim reset), and the physics manager reads
    this same cfg object then.
    """
    solver_cfg = getattr(sim_utils.SimulationContext.instance().cfg.physics, "solver_cfg", None)
    if getattr(solver_cfg, "use_mujoco_contacts", False):
        solver_cfg.use_mujoco_contacts = False


def _static_box(stage, path: str, center, size, yaw: float) -> None:
    cube = UsdGeom.Cube.Define(stage, path)
    cube.CreateSizeAttr(1.0)
    cube.AddTranslateOp().Set(Gf.Vec3d(*map(float, center)))
    cube.AddOrientOp().Set(Gf.Quatf(math.cos(yaw / 2), 0.0, 0.0, math.sin(yaw / 2)))
    cube.AddScaleOp().Set(Gf.Vec3f(*map(float, size)))
    UsdPhysics.CollisionAPI.Apply(cube.GetPrim())
    _collision_only(cube)


def _collision_only(gprim) -> None:
    """Mark a collider as collision geometry, not something to look at (USD purpose `guide`): Newton then gives its
    shape no VISIBLE flag, and its viewers (Isaac Lab's viser visualizer among them) draw it only with the collision
    shapes. What the robot sees, and the live view shows, is the Gaussian-splat world."""
    UsdGeom.Imageable(gprim.GetPrim()).CreatePurposeAttr(UsdGeom.Tokens.guide)


def _static_mesh(stage, path: str, vertices: np.ndarray, faces: np.ndarray) -> None:
    """A static triangle-mesh collider (no approximation: the triangles themselves collide)."""
    mesh = UsdGeom.Mesh.Define(stage, path)
    mesh.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(vertices, dtype=np.float32)))
    mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(faces), 3, dtype=np.int32)))
    mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(np.ascontiguousarray(faces, dtype=np.int32).ravel()))
    mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    UsdPhysics.CollisionAPI.Apply(mesh.GetPrim())
    UsdPhysics.MeshCollisionAPI.Apply(mesh.GetPrim()).CreateApproximationAttr(UsdPhysics.Tokens.none)
    _collision_only(mesh)


@configclass
class UrbanTerrainImporterCfg(TerrainImporterCfg):
    """One procedural block per env; `layout` sets its size and content, `seed` makes it reproducible."""

    class_type: type = UrbanTerrainImporter
    prim_path: str = "/World/ground"
    terrain_type: str = "plane"  # not used: the importer authors its own geometry
    layout: UrbanLayoutCfg = UrbanLayoutCfg()
    seed: int = 0
    """Block seed: env i gets layout seed (seed * 100003 + i // envs_per_block). The S2E tasks derive it from the env's
    seed (tasks/urban/finalize)."""
    envs_per_block: int = 1
    """Consecutive envs sharing one procedural block: the same-start groups' size (the S2E tasks derive it from
    env.commands.nav.group_size in tasks/urban/finalize)."""
    layout_seeds: list[int] | None = None
    """Explicit block seeds (NavBench-GS's held-out scenes): env i gets layout_seeds[i % len]; `seed` is then unused."""
    scene_bundle: str | None = None
    """Path of a scene bundle folder (s2e.urban.scene_bundle): every env uses that captured scene
    (its collision mesh, walkable area and routes) instead of a procedural block; `seed` and `layout` are then
    unused but for `layout.obstacles` with `layout_seeds`: obstacles spawned on the bundle per seed."""
    route_clearance: float | None = None
    """The task's route clearance (m; the S2E tasks derive it from commands.nav.route.clearance in
    tasks/urban/finalize): a scene
    bundle's routes are planned with it at load, so a passage too narrow for the robot fails before the
    simulation is built. None: not checked at load."""
    env_spacing: float | None = None
    num_envs: int | None = None
    """Set by the scene."""
