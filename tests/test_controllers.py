import math

import numpy as np
import pytest
import torch

from s2e.control.diff_drive import DiffDriveCfg, body_to_wheel_speeds, wheel_to_body_speeds
from s2e.control.first_order import FirstOrderCfg, FirstOrderVelocity, fit_first_order, simulate_first_order
from s2e.control.waypoint_controller import (
    WaypointControllerCfg,
    metric_waypoints,
    normalize_waypoints,
    waypoints_to_velocity,
)

CTRL = WaypointControllerCfg()
LIMITS = dict(max_lin_vel=1.0, max_ang_vel=1.5)  # a robot's top speed (m/s) and yaw rate (rad/s)


def _arc(v, kappa, cfg=CTRL):
    t = (torch.arange(cfg.num_waypoints) + 1) * cfg.waypoint_dt
    s = v * t
    if abs(kappa) < 1e-6:
        return torch.stack([s, torch.zeros_like(s)], -1)[None]
    return torch.stack([torch.sin(kappa * s) / kappa, (1 - torch.cos(kappa * s)) / kappa], -1)[None]


def test_straight_line_gives_forward_speed_no_turn():
    cmd = waypoints_to_velocity(_arc(0.8, 0.0), CTRL, **LIMITS)
    assert cmd[0, 0].item() == pytest.approx(0.8, rel=1e-5)
    assert cmd[0, 1].item() == pytest.approx(0.0, abs=1e-6)


def test_left_arc_turns_left_and_right_arc_right():
    left = waypoints_to_velocity(_arc(0.8, 0.8), CTRL, **LIMITS)
    right = waypoints_to_velocity(_arc(0.8, -0.8), CTRL, **LIMITS)
    assert left[0, 1] > 0.2 and right[0, 1] < -0.2
    assert left[0, 0] == pytest.approx(right[0, 0].item())


def test_target_behind_turns_in_place_and_limits_hold():
    behind = torch.tensor([[[-1.0, 0.2]] * CTRL.num_waypoints])
    cmd = waypoints_to_velocity(behind, CTRL, **LIMITS)
    assert cmd[0, 0].item() == 0.0 and abs(cmd[0, 1].item()) == pytest.approx(1.5)
    far = _arc(50.0, 0.0)
    assert waypoints_to_velocity(far, CTRL, **LIMITS)[0, 0].item() == pytest.approx(1.0)


def test_controller_is_differentiable():
    wp = _arc(0.7, 0.3).clone().requires_grad_(True)
    waypoints_to_velocity(wp, CTRL, **LIMITS).sum().backward()
    assert torch.isfinite(wp.grad).all() and wp.grad.abs().sum() > 0


def test_normalized_action_round_trip_and_bad_size():
    wp, speed = _arc(0.6, 0.2), torch.tensor([0.6])
    action = normalize_waypoints(wp, speed, CTRL)
    torch.testing.assert_close(metric_waypoints(action, CTRL), wp)
    # Normalized straight-line waypoints are 1, 2, ..., 10 waypoint spacings.
    torch.testing.assert_close(normalize_waypoints(_arc(0.6, 0.0), speed, CTRL)[0, 0:20:2], torch.arange(1.0, 11.0))
    with pytest.raises(ValueError, match="21"):
        metric_waypoints(torch.zeros(1, 7), CTRL)


def test_wheel_speeds_round_trip_and_saturation_keeps_curvature():
    cfg = DiffDriveCfg(wheel_radius=0.1, track_width=0.5, max_wheel_speed=10.0)
    cmd = torch.tensor([[0.5, 0.4], [0.0, 1.0], [-0.3, 0.0]])
    torch.testing.assert_close(wheel_to_body_speeds(body_to_wheel_speeds(cmd, cfg), cfg), cmd)
    spin = body_to_wheel_speeds(torch.tensor([[0.0, 1.0]]), cfg)
    assert spin[0, 0] == -spin[0, 1] and spin[0, 1] > 0
    fast = torch.tensor([[2.0, 2.0]])
    wheels = body_to_wheel_speeds(fast, cfg)
    assert wheels.abs().max().item() == pytest.approx(10.0)
    back = wheel_to_body_speeds(wheels, cfg)
    assert (back[0, 1] / back[0, 0]).item() == pytest.approx(1.0)  # same curvature omega / v


def test_first_order_fit_recovers_time_constant_and_gain():
    dt = 0.02
    cmd = np.concatenate([np.zeros(10), np.full(150, 0.8), np.full(100, 0.3)])
    rng = np.random.default_rng(0)
    measured = simulate_first_order(cmd, dt, tau=0.37, gain=0.9) + rng.normal(0, 0.01, cmd.shape)
    tau, gain, rms = fit_first_order(cmd, measured, dt)
    assert tau == pytest.approx(0.37, rel=0.08) and gain == pytest.approx(0.9, rel=0.03) and rms < 0.02
    model = FirstOrderVelocity(FirstOrderCfg(tau=(0.37,), gain=(0.9,)), 1, "cpu")
    out = [model.step(torch.tensor([[c]]), dt)[0, 0].item() for c in cmd]
    np.testing.assert_allclose(out, simulate_first_order(cmd, dt, 0.37, 0.9), atol=1e-5)
    assert math.isfinite(rms)
