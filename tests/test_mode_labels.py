"""Per-mode experience labels on hand-made scenes: a mode through a box collides, a mode over the curb
is off the walkable area, progress along the route orders the modes, pedestrians are predicted forward."""

import torch

from s2e.nav.mode_labels import ModeLabelCfg, ModeLabeler
from s2e.urban.layout import BOX

TILE = 50.0
GRID = 200  # 0.25 m cells


def _straight(length: float, n: int = 10) -> torch.Tensor:
    return torch.stack([torch.linspace(length / n, length, n), torch.zeros(n)], -1)


def _turned(length: float, angle: float, n: int = 10) -> torch.Tensor:
    pts = _straight(length, n)
    c, s = torch.cos(torch.tensor(angle)), torch.sin(torch.tensor(angle))
    return torch.stack([c * pts[:, 0] - s * pts[:, 1], s * pts[:, 0] + c * pts[:, 1]], -1)


def _scene(modes, footprints=None, clearance=None, peds=None, yaw=0.0, cfg=ModeLabelCfg()):
    """One robot at the tile's origin heading `yaw`, route straight along +x for 20 m."""
    waypoints = torch.stack(modes)[None]  # [1, M, W, 2]
    xy, yaw_t = torch.zeros(1, 2), torch.tensor([yaw])
    route = torch.tensor([[[0.0, 0.0], [20.0, 0.0]]])
    if footprints is None:
        foot, valid = torch.zeros(1, 1, 7), torch.zeros(1, 1, dtype=torch.bool)
    else:
        foot, valid = torch.tensor(footprints)[None], torch.ones(1, len(footprints), dtype=torch.bool)
    clear = torch.full((1, GRID, GRID), 5.0) if clearance is None else clearance
    ped = peds or (None, None, None)
    labeler = ModeLabeler(cfg, robot_radius=0.4, waypoint_dt=0.25, ped_radius=0.3)
    return labeler(waypoints, xy, yaw_t, route, torch.zeros(1), foot, valid, clear, TILE, *ped)


def test_a_mode_through_a_box_collides_and_one_around_it_does_not():
    box = [3.0, 0.0, 0.0, 0.5, 0.5, 1.0, BOX]  # 1 m box 3 m ahead
    labels = _scene([_straight(5.0), _turned(5.0, 0.6)], footprints=[box])
    assert labels.collides.tolist() == [[True, False]]
    assert not labels.off_walkable.any()
    # the colliding mode only counts progress up to the box, and is penalized
    assert labels.progress[0, 0] < 2.5 and labels.score[0, 0] < labels.score[0, 1]


def test_a_mode_over_the_curb_is_off_the_walkable_area():
    clearance = torch.full((1, GRID, GRID), 5.0)
    rows_left = GRID // 2 + int(1.5 / (TILE / GRID))  # y > 1.5 m is not walkable (left of the robot)
    clearance[0, rows_left:] = -1.0
    labels = _scene([_straight(4.0), _turned(4.0, 1.2)], clearance=clearance)
    assert labels.off_walkable.tolist() == [[False, True]]
    assert not labels.collides.any()
    assert labels.score[0, 0] > labels.score[0, 1]


def test_progress_orders_straight_along_the_route_above_turning_away():
    labels = _scene([_straight(5.0), _turned(5.0, 0.5), _turned(5.0, 1.4), _turned(5.0, 2.8)])
    p = labels.progress[0]
    assert p[0] > p[1] > p[2] > p[3] and abs(p[0] - 5.0) < 1e-4 and p[3] == 0.0  # progress is monotone: never < 0
    assert torch.equal(labels.score, labels.progress)  # nothing blocked: the score is the progress
    # in the robot frame: the same modes for a robot heading back along the route make no progress
    back = _scene([_straight(5.0)], yaw=torch.pi)
    assert back.progress[0, 0] == 0.0


def test_pedestrians_are_predicted_forward_at_constant_velocity():
    # a pedestrian 2 m ahead and 3 m to the right, walking left at 1.5 m/s: on the straight mode's path at ~2 s
    ped = (torch.tensor([[[2.0, -3.0]]]), torch.tensor([[[0.0, 1.5]]]), torch.ones(1, 1, dtype=torch.bool))
    still = (ped[0], torch.zeros(1, 1, 2), ped[2])
    slow = _straight(2.5)  # 1 m/s: at (2, 0) after 2 s, when the pedestrian crosses
    assert _scene([slow], peds=ped).collides.item()
    assert not _scene([slow], peds=still).collides.item()  # standing 3 m to the side: no conflict
    assert not _scene([slow], peds=ped, cfg=ModeLabelCfg(pedestrians=False)).collides.item()


def test_labels_are_batched_over_envs_and_modes():
    e, m = 5, 7
    torch.manual_seed(0)
    angles = torch.linspace(-1.0, 1.0, m)
    modes = torch.stack([_turned(4.0, float(a)) for a in angles])[None].repeat(e, 1, 1, 1)
    labeler = ModeLabeler(ModeLabelCfg(), robot_radius=0.4, waypoint_dt=0.25, ped_radius=0.3)
    xy = torch.rand(e, 2) * 4
    yaw = torch.rand(e) - 0.5
    routes = torch.stack([torch.stack([xy[i], xy[i] + torch.tensor([20.0, 0.0])]) for i in range(e)])
    foot, valid = torch.zeros(e, 1, 7), torch.zeros(e, 1, dtype=torch.bool)
    clear = torch.full((e, GRID, GRID), 5.0)
    batched = labeler(modes, xy, yaw, routes, torch.zeros(e), foot, valid, clear, TILE)
    for i in range(e):
        one = labeler(modes[i:i + 1], xy[i:i + 1], yaw[i:i + 1], routes[i:i + 1], torch.zeros(1), foot[:1], valid[:1],
                      clear[:1], TILE)
        torch.testing.assert_close(batched.score[i:i + 1], one.score)
