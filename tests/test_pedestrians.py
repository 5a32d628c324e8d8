import torch

from s2e.urban.geometry import footprint_distance, points_in_rects
from s2e.urban.layout import collision_footprints
from s2e.urban.pedestrians import PedestrianCfg, PedestrianCrowd


def _crowd(layouts, count=(10, 10), react=True):
    cfg = PedestrianCfg(count=count, react_to_robot=react)
    return PedestrianCrowd(layouts, [collision_footprints(l) for l in layouts], cfg, "cpu", seed=1, robot_radius=0.4)


def test_pedestrians_never_overlap_and_stay_on_walkable_area(layouts):
    crowd = _crowd(layouts)
    crowd.reset()
    robot = torch.zeros(len(layouts), 2)
    for _ in range(150):
        crowd.step(0.1, robot)
        assert (crowd.min_separation() >= 2 * crowd.cfg.radius - 0.02).all()
    inside = points_in_rects(crowd.pos, crowd.rects, crowd.rect_valid, tol=0.01).any(-1)
    assert inside[crowd.active].all()
    d, _ = footprint_distance(crowd.pos, crowd.obstacles, crowd.obstacle_valid)
    assert (d.min(-1).values[crowd.active] > crowd.cfg.radius - 0.1).all()


def test_pedestrians_walk_toward_goals(layouts):
    crowd = _crowd(layouts, count=(4, 4))
    crowd.reset()
    start = crowd.pos.clone()
    for _ in range(50):
        crowd.step(0.1)
    moved = (crowd.pos - start).norm(dim=-1)
    assert moved.mean() > 2.0
    speed = crowd.vel.norm(dim=-1)
    assert (speed <= crowd.speed * crowd.cfg.max_speed_factor + 1e-4).all()


def test_pedestrians_make_way_for_the_robot_only_when_reacting(layouts):
    dists = {}
    for react in (True, False):
        crowd = _crowd(layouts[:1], count=(1, 1), react=react)
        crowd.reset()
        # Put the robot right on the pedestrian's straight path, 1 m ahead.
        target = crowd._waypoint()
        heading = (target - crowd.pos) / (target - crowd.pos).norm(dim=-1, keepdim=True)
        robot = (crowd.pos + heading * 1.0)[:, 0]
        closest = float("inf")
        for _ in range(20):
            crowd.step(0.1, robot)
            closest = min(closest, (crowd.pos[:, 0] - robot).norm(dim=-1).item())
        dists[react] = closest
    assert dists[True] > dists[False] + 0.1


def test_reset_count_range_and_subset(layouts):
    crowd = _crowd(layouts, count=(2, 6))
    crowd.reset()
    counts = crowd.active.sum(-1)
    assert ((counts >= 2) & (counts <= 6)).all()
    before = crowd.pos.clone()
    crowd.reset(torch.tensor([0]))
    assert torch.equal(crowd.pos[1:], before[1:])


def test_no_pedestrian_starts_next_to_the_robot(layouts):
    crowd = _crowd(layouts, count=(10, 10))
    start = torch.stack([torch.as_tensor(l.walk_rects[0, :2] + 1.0) for l in layouts])
    crowd.reset(keep_clear=start, clear_radius=2.5)
    assert ((crowd.pos - start[:, None]).norm(dim=-1) >= 2.5 - 1e-3).all()
