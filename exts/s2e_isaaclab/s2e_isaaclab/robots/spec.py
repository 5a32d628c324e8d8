"""What the navigation MDP needs to know about a robot, independent of Isaac Lab's asset config."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from s2e.control.diff_drive import DiffDriveCfg
from s2e.control.first_order import FirstOrderCfg

from ..paths import ASSETS_DIR


def load_base_velocity_model(robot: str, fallback: FirstOrderCfg) -> FirstOrderCfg:
    """The first-order fit written by scripts/calibrate_base_velocity.py, or `fallback` before calibration."""
    path = ASSETS_DIR / "robots" / robot / "base_velocity_model.json"
    if not path.is_file():
        return fallback
    try:
        data = json.loads(path.read_text())
        return FirstOrderCfg(tau=tuple(float(t) for t in data["tau"]), gain=tuple(float(g) for g in data["gain"]))
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path} is corrupt ({err}): rerun scripts/calibrate_base_velocity.py or delete it") from err


@dataclass
class RobotSpec:
    name: str
    kind: str
    """'wheeled' (differential drive) or 'quadruped' (Go2 walking policy)."""
    radius: float
    """Radius of the circle that bounds the footprint (collisions, clearance) (m)."""
    base_height: float
    """Standing height of the root body above the ground (m)."""
    max_lin_vel: float
    max_ang_vel: float
    base_velocity_model: FirstOrderCfg = field(default_factory=FirstOrderCfg)
    """First-order fit of the joint-level controller's velocity response (fast base-velocity mode)."""
    diff_drive: DiffDriveCfg | None = None
    camera_body: str = "base"
    """Path of the body carrying the camera, relative to the robot prim."""
    camera_offset: tuple[float, float, float] = (0.3, 0.0, 0.1)
    """Where the forward camera sits on the root body (body frame, m)."""
    camera_pitch_deg: float = 10.0
