"""What the navigation MDP needs to know about a robot, independent of Isaac Lab's asset config."""

from __future__ import annotations

from dataclasses import dataclass, field

from s2e.control.diff_drive import DiffDriveCfg
from s2e.control.first_order import FirstOrderCfg


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
