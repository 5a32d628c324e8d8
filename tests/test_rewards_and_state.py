import math

import pytest
import torch

from s2e.nav import rewards as R
from s2e.nav.episode_state import EpisodeState

ROUTE = torch.tensor([[[0.0, 0.0], [10.0, 0.0]]])
GOAL = ROUTE[:, -1]
# One static box at x=5, y=2 (half sizes 0.5), no pedestrians.
FOOT = torch.tensor([[[5.0, 2.0, 0.0, 0.5, 0.5, 1.0, 0.0]]])
VALID = torch.ones(1, 1, dtype=torch.bool)


def _state_after(points, ped=None):
    s = EpisodeState.zeros(1, "cpu")
    s.reset(torch.tensor([0]), points[0][None], ROUTE)
    ped_xy, ped_valid = ((ped, torch.ones(1, ped.shape[1], dtype=torch.bool)) if ped is not None
                         else (torch.zeros(1, 0, 2), torch.zeros(1, 0, dtype=torch.bool)))
    for p in points[1:]:
        s.update(p[None], GOAL, ROUTE, FOOT, VALID, ped_xy, ped_valid, 0.4, 0.3, 1.0, 0.02)
    return s


def test_progress_and_velocity_towards_goal():
    s = _state_after(torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.5, 0.0]]))
    assert R.route_progress(s, 0.1).item() == pytest.approx(5.0)
    assert R.velocity_towards_goal(s, 0.1).item() == pytest.approx(5.0)
    assert R.position_tracking(s, 5.0).item() == pytest.approx(1 - torch.tanh(torch.tensor(8.5 / 5)).item())


def test_arrival_within_one_metre():
    far = _state_after(torch.tensor([[0.0, 0.0], [8.5, 0.0]]))
    near = _state_after(torch.tensor([[0.0, 0.0], [9.2, 0.3]]))
    assert R.arrival(far).item() == 0.0 and R.arrival(near).item() == 1.0
    assert near.arrived_ever.item()


def test_collisions_are_counted_once_per_contact():
    # Approach the box (touch at y = 2 - 0.5 - 0.4 = 1.1), stay, leave, touch again.
    path = torch.tensor([[5.0, 0.0], [5.0, 1.0], [5.0, 1.2], [5.0, 1.25], [5.0, 0.5], [5.0, 1.3]])
    s = EpisodeState.zeros(1, "cpu")
    s.reset(torch.tensor([0]), path[0][None], ROUTE)
    events = []
    for p in path[1:]:
        s.update(p[None], GOAL, ROUTE, FOOT, VALID, torch.zeros(1, 0, 2), torch.zeros(1, 0, dtype=torch.bool), 0.4, 0.3,
                 1.0, 0.02)
        events.append(R.collision(s).item())
    assert events == [0.0, -1.0, 0.0, 0.0, -1.0]
    assert s.collision_count.item() == 2


def test_pedestrian_contact_and_social_distance():
    ped = torch.tensor([[[2.0, 0.0]]])
    s = _state_after(torch.tensor([[0.0, 0.0], [1.0, 0.0]]), ped=ped)
    assert s.ped_clearance.item() == pytest.approx(1.0 - 0.7)
    assert R.social_distance(s.ped_clearance, 1.0).item() == pytest.approx(-0.7)
    s2 = _state_after(torch.tensor([[0.0, 0.0], [1.4, 0.0]]), ped=ped)
    assert s2.colliding.item() and s2.collision_count.item() == 1


def test_sidewalk_centering_and_grid_sampling():
    maps = torch.arange(16.0).reshape(1, 4, 4)  # 4 m tile, 1 m cells; row = y
    assert R.sample_grid(maps, torch.tensor([[-1.5, 0.5]]), 4.0).item() == 8.0
    assert R.sidewalk_centering(torch.tensor([0.0, 0.4, 1.2]), 0.8).tolist() == pytest.approx([-1.0, -0.5, 0.0])


def test_smoothness_and_spin():
    cmd, prev = torch.tensor([[0.5, 0.3]]), torch.tensor([[0.2, -0.1]])
    assert R.command_smoothness(cmd, prev).item() == pytest.approx(-(0.09 + 0.16))
    assert R.spin(cmd).item() == pytest.approx(-0.09)


def test_fallen_and_left_block_terminations():
    from s2e.nav.terminations import fallen, left_block

    # xyzw: upright and yawed (still upright), tilted 30 deg about x, tilted 70 deg about y (fallen)
    upright = torch.tensor([0.0, 0.0, 0.3826834, 0.9238795])
    tilt30 = torch.tensor([math.sin(math.radians(15)), 0.0, 0.0, math.cos(math.radians(15))])
    tilt70 = torch.tensor([0.0, math.sin(math.radians(35)), 0.0, math.cos(math.radians(35))])
    quats = torch.stack([upright, upright, tilt30, tilt70])
    assert fallen(torch.tensor([0.3, 0.1, 0.3, 0.3]), quats, 0.15, 0.5).tolist() == [False, True, False, True]
    xy = torch.tensor([[24.0, -24.9], [25.1, 0.0], [0.0, -26.0]])
    assert left_block(xy, 50.0).tolist() == [False, True, True]
