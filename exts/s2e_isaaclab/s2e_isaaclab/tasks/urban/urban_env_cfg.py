"""Base configuration of the S2E-Urban navigation tasks (robot-agnostic; see config/<robot>/).

Policy at 10 Hz. Joint-level mode: physics at 200 Hz (decimation 20, as URBAN-SIM). Fast
base-velocity mode: physics at 10 Hz (decimation 1), since the base is moved by its fitted model.
Scene content is chosen with `set_content(cfg, "empty" | "obstacles" | "pedestrians" | "mixed")` or
the equivalent overrides (env.scene.terrain.layout.obstacles.density=..., env.commands.nav.pedestrians.count=[a,b]).
"""

from __future__ import annotations

import isaaclab.sim as sim_utils
from isaaclab.assets import ArticulationCfg, RigidObjectCfg, RigidObjectCollectionCfg
from isaaclab.envs import ManagerBasedRLEnvCfg
from isaaclab.managers import ObservationGroupCfg as ObsGroup
from isaaclab.managers import ObservationTermCfg as ObsTerm
from isaaclab.managers import RewardTermCfg as RewTerm
from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.scene import InteractiveSceneCfg
from isaaclab.utils import configclass
from isaaclab_newton.physics import MJWarpSolverCfg, NewtonCfg

from s2e.urban.families import FAMILIES, TRAINING_FAMILIES
from s2e.urban.layout import UrbanLayoutCfg

from ...paths import default_device
from ...scenes import UrbanTerrainImporterCfg
from ...sensors import GaussianSplatCameraCfg
from . import mdp

CONTENTS = ("empty", "obstacles", "pedestrians", "mixed")
MAX_PEDESTRIANS = 8
OBSTACLE_DENSITY = 1.5
"""Static obstacles per 100 m^2 of walkable area with obstacle content."""
PEDESTRIAN_COUNT = (4, MAX_PEDESTRIANS)
"""Pedestrians per env (drawn per episode) with pedestrian content."""
ROUTE_MARGIN = 0.3
"""Reference routes keep the robot's radius plus this from obstacles and the walkable area's edge (m)."""


def pedestrian_pool(count: int, radius: float = 0.3, height: float = 1.7) -> RigidObjectCollectionCfg:
    """`count` kinematic capsules per env (parked underground when unused), moved by the crowd model. They are
    colliders only (invisible prims: viewers draw them with the collision shapes); the camera sees each pedestrian's
    Gaussian figure."""
    capsule = sim_utils.CapsuleCfg(
        radius=radius,
        height=height - 2 * radius,
        axis="Z",
        visible=False,
        rigid_props=sim_utils.UsdPhysicsRigidBodyCfg(kinematic_enabled=True),
        collision_props=sim_utils.UsdPhysicsCollisionCfg(),
        mass_props=sim_utils.MassCfg(mass=70.0),
    )
    return RigidObjectCollectionCfg(
        rigid_objects={
            f"ped_{i}": RigidObjectCfg(
                prim_path=f"{{ENV_REGEX_NS}}/Pedestrian_{i}",
                spawn=capsule,
                init_state=RigidObjectCfg.InitialStateCfg(pos=(0.0, 1.0 * i, -5.0)),
            )
            for i in range(count)
        }
    )


@configclass
class UrbanSceneCfg(InteractiveSceneCfg):
    terrain: UrbanTerrainImporterCfg = UrbanTerrainImporterCfg(layout=UrbanLayoutCfg())
    robot: ArticulationCfg = None  # set by the robot config
    pedestrians: RigidObjectCollectionCfg = pedestrian_pool(MAX_PEDESTRIANS)
    camera: GaussianSplatCameraCfg = GaussianSplatCameraCfg(prim_path="{ENV_REGEX_NS}/Robot/base")
    """Forward camera rendering the block's Gaussians; its mount comes from the robot spec."""


@configclass
class ActionsCfg:
    nav: mdp.WaypointNavActionCfg = mdp.WaypointNavActionCfg(robot=None)


@configclass
class CommandsCfg:
    nav: mdp.NavigationCommandCfg = mdp.NavigationCommandCfg(robot=None)


@configclass
class ObservationsCfg:
    @configclass
    class PolicyCfg(ObsGroup):
        goal = ObsTerm(func=mdp.goal_in_robot_frame)
        base_velocity = ObsTerm(func=mdp.base_velocity_2d)
        last_command = ObsTerm(func=mdp.last_velocity_command)

        def __post_init__(self):
            self.concatenate_terms = True

    @configclass
    class CriticCfg(PolicyCfg):
        privileged = ObsTerm(func=mdp.privileged_navigation)

    @configclass
    class RouteCfg(ObsGroup):
        """Route guidance for the AGDM policy (see eval_agdm.py --goal route)."""

        goal = ObsTerm(func=mdp.route_guidance, params={"lookahead": 3.0})
        """params["lookahead"]: metres ahead along the reference route; the one home of the route look-ahead, read by
        training (this observation), the evaluation policies and the scripted expert (see route_lookahead)."""

        def __post_init__(self):
            self.concatenate_terms = True

    @configclass
    class CameraCfg(ObsGroup):
        """The last k camera frames (k = scene.camera.history), kept as separate image terms."""

        rgb = ObsTerm(func=mdp.rgb_history)
        depth = ObsTerm(func=mdp.depth_history)

        def __post_init__(self):
            self.concatenate_terms = False

    policy: PolicyCfg = PolicyCfg()
    critic: CriticCfg = CriticCfg()
    route: RouteCfg = RouteCfg()
    camera: CameraCfg = CameraCfg()


@configclass
class RewardsCfg:
    """URBAN-SIM's goal terms (weights x step dt) plus the rule and human-likeness terms."""

    # R_G
    arrived = RewTerm(func=mdp.arrived_reward, weight=2000.0)
    collision = RewTerm(func=mdp.collision_penalty, weight=200.0)
    position_tracking = RewTerm(func=mdp.position_tracking, weight=10.0, params={"std": 5.0})
    position_tracking_fine = RewTerm(func=mdp.position_tracking, weight=50.0, params={"std": 1.0})
    route_progress = RewTerm(func=mdp.route_progress, weight=20.0)
    velocity_towards_goal = RewTerm(func=mdp.velocity_towards_goal, weight=10.0)
    # R_R
    sidewalk_centering = RewTerm(func=mdp.sidewalk_centering, weight=2.0, params={"comfortable": 0.8})
    social_distance = RewTerm(func=mdp.social_distance, weight=5.0, params={"comfortable": 1.0})
    # R_H
    smoothness = RewTerm(func=mdp.command_smoothness, weight=1.0)
    spin = RewTerm(func=mdp.spin_penalty, weight=0.2)


@configclass
class TerminationsCfg:
    time_out = DoneTerm(func=mdp.time_out, time_out=True)
    arrived = DoneTerm(func=mdp.arrived)
    collision = DoneTerm(func=mdp.collided)
    """Set to None to count collisions and continue (NavBench-GS)."""
    fallen = DoneTerm(func=mdp.fallen)
    left_block = DoneTerm(func=mdp.left_block)


@configclass
class UrbanNavEnvCfg(ManagerBasedRLEnvCfg):
    scene: UrbanSceneCfg = UrbanSceneCfg(num_envs=16, env_spacing=50.0, replicate_physics=True)
    observations: ObservationsCfg = ObservationsCfg()
    actions: ActionsCfg = ActionsCfg()
    commands: CommandsCfg = CommandsCfg()
    rewards: RewardsCfg = RewardsCfg()
    terminations: TerminationsCfg = TerminationsCfg()
    content: str = "empty"
    """Scene content: empty / obstacles / pedestrians / mixed (applied in __post_init__)."""
    control_mode: str = "joint"
    """'joint' (locomotion controller, default) or 'base' (fast first-order base model)."""

    def __post_init__(self):
        self.episode_length_s = 90.0
        self.sim.device = default_device()
        self.sim.physics = NewtonCfg(
            solver_cfg=MJWarpSolverCfg(njmax=120, nconmax=60, cone="pyramidal", impratio=1.0,
                                       integrator="implicitfast"),
            num_substeps=1,
        )
        apply_control_mode(self, self.control_mode)
        set_content(self, self.content)


PLAY_NUM_ENVS = 4


def play_variant(cfg_class: type[UrbanNavEnvCfg]) -> type[UrbanNavEnvCfg]:
    """The cfg class of a robot's -Play task: the same task with PLAY_NUM_ENVS envs to watch."""

    @configclass
    class PlayCfg(cfg_class):
        def __post_init__(self):
            super().__post_init__()
            self.scene.num_envs = PLAY_NUM_ENVS

    PlayCfg.__name__ = PlayCfg.__qualname__ = f"{cfg_class.__name__}_PLAY"
    return PlayCfg


def use_robot(cfg: UrbanNavEnvCfg, articulation: ArticulationCfg, spec) -> None:
    """Put a robot in the task: its articulation, and its spec for the action, command and route clearance."""
    cfg.scene.robot = articulation
    cfg.actions.nav.robot = spec
    cfg.commands.nav.robot = spec
    cfg.commands.nav.route.clearance = spec.radius + ROUTE_MARGIN
    if cfg.scene.camera is not None:
        cfg.scene.camera.prim_path = f"{{ENV_REGEX_NS}}/Robot/{spec.camera_body}"
        cfg.scene.camera.offset_pos = spec.camera_offset
        cfg.scene.camera.pitch_deg = spec.camera_pitch_deg


def held_out_appearance(cfg: UrbanNavEnvCfg) -> str | None:
    """Why the task cannot render its camera's appearance family, with the fix; None when it can. The S2E-Urban
    tasks (training, demonstrations, play) draw the training families only: the others are held out for
    NavBench-GS, whose episode files bring their own family (make_navbench), so no policy is trained on them."""
    camera = getattr(cfg.scene, "camera", None)
    if camera is None or getattr(cfg.commands.nav, "episode_file", ""):
        return None
    if camera.appearance not in FAMILIES:
        return f"env.scene.camera.appearance={camera.appearance!r}: choose one of {', '.join(TRAINING_FAMILIES)}"
    if camera.appearance not in TRAINING_FAMILIES:
        return (f"env.scene.camera.appearance={camera.appearance!r} is held out for NavBench-GS: the S2E-Urban tasks "
                f"use {', '.join(TRAINING_FAMILIES)}; score a policy on it with eval_navbench.py --split "
                f"{camera.appearance}")
    return None


def disable_camera(cfg: UrbanNavEnvCfg) -> None:
    """Drop the camera and its observations (physics-only runs: the scripted expert, env benchmarks)."""
    cfg.scene.camera = None
    cfg.observations.camera = None


def route_lookahead(cfg: UrbanNavEnvCfg) -> float:
    """The route guidance's look-ahead (m), observations.route.goal.params["lookahead"]: the route observation
    (training), AGDMPolicy (play, eval_agdm.py, NavBench-GS) and the scripted expert's carrot all read it, so one
    override (env.observations.route.goal.params.lookahead=...) changes them together."""
    return float(cfg.observations.route.goal.params["lookahead"])


def set_route_lookahead(cfg: UrbanNavEnvCfg, metres: float) -> None:
    """Set the route look-ahead that every reader of route_lookahead(cfg) uses (metres > 0)."""
    if not metres > 0:
        raise ValueError(f"the route look-ahead must be > 0 m, got {metres}")
    cfg.observations.route.goal.params["lookahead"] = float(metres)


def apply_control_mode(cfg: UrbanNavEnvCfg, mode: str) -> None:
    if mode not in mdp.actions.CONTROL_MODES:
        raise ValueError(f"control_mode={mode!r} is not one of {mdp.actions.CONTROL_MODES}")
    cfg.control_mode = mode
    cfg.actions.nav.mode = mode
    if mode == "joint":
        cfg.sim.dt, cfg.decimation = 0.005, 20
        cfg.sim.gravity = (0.0, 0.0, -9.81)
    else:  # the base is moved by its model (exact for any step): one physics step per policy step,
        # without gravity, which would otherwise pull the written base down by g*dt^2 every step
        cfg.sim.dt, cfg.decimation = 0.1, 1
        cfg.sim.gravity = (0.0, 0.0, 0.0)
    cfg.sim.render_interval = cfg.decimation


def set_content(cfg: UrbanNavEnvCfg, content: str, obstacle_density: float = OBSTACLE_DENSITY,
                pedestrians: tuple[int, int] = PEDESTRIAN_COUNT) -> None:
    """Select the scene content: static obstacles and/or walking pedestrians."""
    if content not in CONTENTS:
        raise ValueError(f"content={content!r} is not one of {CONTENTS}")
    cfg.content = content
    with_obstacles = content in ("obstacles", "mixed")
    with_pedestrians = content in ("pedestrians", "mixed")
    cfg.scene.terrain.layout.obstacles.density = obstacle_density if with_obstacles else 0.0
    cfg.commands.nav.pedestrians.count = pedestrians if with_pedestrians else (0, 0)
    cfg.scene.pedestrians = (pedestrian_pool(pedestrians[1], cfg.commands.nav.pedestrians.radius) if with_pedestrians
                             else None)
