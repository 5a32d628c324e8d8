"""Sidewalk delivery robot: differential drive, authored by scripts/assets/make_delivery_bot_usd.py."""

from __future__ import annotations

import isaaclab.sim as sim_utils
from isaaclab.actuators import ImplicitActuatorCfg
from isaaclab.assets import ArticulationCfg
from isaaclab_newton.sim.schemas import NewtonArticulationCfg

from s2e.control.diff_drive import DiffDriveCfg
from s2e.control.first_order import FirstOrderCfg

from ..paths import asset_path
from .spec import RobotSpec, load_base_velocity_model

DELIVERY_BOT_USD = "robots/delivery_bot/delivery_bot.usda"

DELIVERY_BOT = RobotSpec(
    name="delivery_bot",
    kind="wheeled",
    radius=0.45,
    base_height=0.1,
    max_lin_vel=1.2,
    max_ang_vel=1.5,
    base_velocity_model=load_base_velocity_model("delivery_bot",
                                                 FirstOrderCfg(tau=(0.25, 0.25, 0.2), gain=(1.0, 1.0, 1.0))),
    diff_drive=DiffDriveCfg(wheel_radius=0.1, track_width=0.5, max_wheel_speed=14.0),
    camera_offset=(0.33, 0.0, 0.45),  # front top of the chassis, ~0.55 m above the ground
    camera_pitch_deg=10.0,
)


def delivery_bot_cfg(prim_path: str = "{ENV_REGEX_NS}/Robot") -> ArticulationCfg:
    """Wheels are velocity-driven (stiffness 0): the controller sends wheel speed targets."""
    return ArticulationCfg(
        prim_path=prim_path,
        spawn=sim_utils.UsdFileCfg(
            usd_path=asset_path(DELIVERY_BOT_USD),
            articulation_props=NewtonArticulationCfg(self_collision_enabled=False),
        ),
        init_state=ArticulationCfg.InitialStateCfg(pos=(0.0, 0.0, DELIVERY_BOT.base_height + 0.01)),
        actuators={
            "wheels": ImplicitActuatorCfg(joint_names_expr=[".*_wheel_joint"], stiffness=0.0, damping=20.0,
                                          effort_limit_sim=40.0)
        },
    )
