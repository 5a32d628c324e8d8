"""The scripted expert in a plain kinematic rollout (no simulator): it must reach the goal on empty
blocks, avoid static obstacles, and (when asked) pedestrians."""

import numpy as np
import torch

from s2e.control.waypoint_controller import WaypointControllerCfg, metric_waypoints, waypoints_to_velocity
from s2e.nav.episode_state import EpisodeState
from s2e.nav.expert import ExpertCfg, ScriptedExpert
from s2e.urban.layout import UrbanLayoutCfg, collision_footprints, generate_layout
from s2e.urban.routes import RouteCfg, RoutePlanner, clearance_map, point_along_route

LOOKAHEAD = 3.0
"""The carrot distance (m); in the tasks it is the env cfg's route look-ahead (urban_env_cfg.route_lookahead)."""
LIMITS = dict(max_lin_vel=1.0, max_ang_vel=1.5)  # a robot's top speed (m/s) and yaw rate (rad/s)


def _rollout(density: float, seeds, steps=700):
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = density
    layouts = [generate_layout(cfg, s) for s in seeds]
    rng = np.random.default_rng(1)
    eps = [RoutePlanner(l, RouteCfg()).sample_episode(rng) for l in layouts]
    fps = [collision_footprints(l) for l in layouts]
    o = max(len(f) for f in fps)
    foot = torch.zeros(len(seeds), o, 7)
    valid = torch.zeros(len(seeds), o, dtype=torch.bool)
    for i, f in enumerate(fps):
        foot[i, : len(f)], valid[i, : len(f)] = torch.as_tensor(f), True
    clear = torch.stack([torch.as_tensor(clearance_map(l)) for l in layouts])
    routes = torch.stack([torch.as_tensor(e.route) for e in eps])
    xy = torch.stack([torch.as_tensor(e.start) for e in eps])
    yaw = torch.tensor([e.start_yaw for e in eps])
    ctrl = WaypointControllerCfg()
    expert = ScriptedExpert(ExpertCfg(lookahead=LOOKAHEAD), ctrl, robot_radius=0.4, ped_radius=0.3)
    state = EpisodeState.zeros(len(seeds), "cpu")
    state.reset(torch.arange(len(seeds)), xy, routes)
    empty_peds = (torch.zeros(len(seeds), 0, 2), torch.zeros(len(seeds), 0, dtype=torch.bool))
    done = torch.zeros(len(seeds), dtype=torch.bool)
    for _ in range(steps):
        action = expert.act(xy, yaw, routes, state.progress, foot, valid, clear, cfg.size)
        cmd = waypoints_to_velocity(metric_waypoints(action, ctrl), ctrl, **LIMITS) * (~done)[:, None]
        yaw = yaw + cmd[:, 1] * 0.1
        xy = xy + 0.1 * cmd[:, :1] * torch.stack([torch.cos(yaw), torch.sin(yaw)], -1)
        state.update(xy, routes[:, -1], routes, foot, valid, *empty_peds, 0.4, 0.3, 1.0, 0.02)
        done |= state.arrived
        if done.all():
            break
    return state


def test_expert_reaches_the_goal_on_empty_blocks():
    s = _rollout(0.0, range(10))
    assert s.arrived_ever.float().mean() >= 0.9
    assert s.collision_count.sum() == 0


def test_expert_avoids_static_obstacles():
    s = _rollout(1.5, range(10, 20))
    assert s.arrived_ever.float().mean() >= 0.8
    assert s.collision_count.float().mean() <= 0.2


def test_carrot_point_along_route():
    route = torch.tensor([[[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]]])
    torch.testing.assert_close(point_along_route(route, torch.tensor([5.0])), torch.tensor([[3.0, 2.0]]))
    torch.testing.assert_close(point_along_route(route, torch.tensor([50.0])), torch.tensor([[3.0, 4.0]]))


def test_expert_gives_way_to_a_pedestrian_only_when_told_to():
    ctrl = WaypointControllerCfg()
    xy, yaw = torch.zeros(1, 2), torch.zeros(1)
    route = torch.tensor([[[0.0, 0.0], [20.0, 0.0]]])
    foot, valid = torch.zeros(1, 1, 7), torch.zeros(1, 1, dtype=torch.bool)
    clear = torch.full((1, 200, 200), 5.0)
    ped, ped_v, ped_ok = torch.tensor([[[1.8, 0.0]]]), torch.zeros(1, 1, 2), torch.ones(1, 1, dtype=torch.bool)
    scene = (xy, yaw, route, torch.zeros(1), foot, valid, clear, 50.0, ped, ped_v, ped_ok)
    careful = ScriptedExpert(ExpertCfg(avoid_pedestrians=True, lookahead=LOOKAHEAD), ctrl, 0.4, 0.3).act(*scene)
    blind = ScriptedExpert(ExpertCfg(avoid_pedestrians=False, lookahead=LOOKAHEAD), ctrl, 0.4, 0.3).act(*scene)
    assert abs(waypoints_to_velocity(metric_waypoints(careful, ctrl), ctrl, **LIMITS)[0, 1]) > 0.1
    assert abs(waypoints_to_velocity(metric_waypoints(blind, ctrl), ctrl, **LIMITS)[0, 1]) < 1e-3


def test_neighbour_culling_keeps_a_small_obstacle_next_to_long_ones():
    from s2e.urban.geometry import nearest_footprints

    # Ten 30 m curbs 3-12 m away and one 0.3 m curb piece 0.5 m away.
    long = [[0.0, 3.0 + i, 0.0, 15.0, 0.075, 0.12, 0.0] for i in range(10)]
    small = [[0.0, -0.5, 0.0, 0.15, 0.075, 0.12, 0.0]]
    foot = torch.tensor([long + small])
    near, _ = nearest_footprints(torch.zeros(1, 2), foot, torch.ones(1, 11, dtype=torch.bool), k=4)
    assert (near[0, :, 1] == -0.5).any()


def test_perturbation_bursts_rotate_waypoints_and_mark_non_expert_steps():
    from s2e.nav.perturbation import ActionPerturbation, PerturbationCfg

    e, w = 64, 10
    action = torch.cat([torch.stack([torch.arange(1, w + 1.0), torch.zeros(w)], -1).flatten().expand(e, -1),
                        torch.ones(e, 1)], -1)
    pert = ActionPerturbation(PerturbationCfg(prob=0.3, steps=3, angle=0.8), e, seed=1)
    masks = []
    for _ in range(30):
        out, expert = pert.apply(action)
        masks.append(expert)
        assert torch.equal(out[expert], action[expert])  # the expert's own action where the mask says so
        wp = out[~expert, :-1].reshape(-1, w, 2)
        angle = torch.atan2(wp[..., 1], wp[..., 0])
        # a rotation
        assert torch.allclose(wp.norm(dim=-1), action[~expert, :-1].reshape(-1, w, 2).norm(dim=-1), atol=1e-5)
        assert ((angle.abs() >= 0.4 - 1e-5) & (angle.abs() <= 0.8 + 1e-5)).all()
        assert torch.equal(out[:, -1], action[:, -1])  # the speed is untouched
    runs = torch.stack(masks, 1)  # [E, T]: perturbed steps come in bursts of exactly 3 (unless cut by the end)
    for row in (~runs).int().tolist():
        text = "".join(map(str, row))
        lengths = [len(r) for r in text.rstrip("1").split("0") if r]  # the run still going at the end may be cut
        assert all(n % 3 == 0 for n in lengths), row
    assert 0.2 < (~runs).float().mean() < 0.7
    pert.reset(torch.arange(e))
    assert (pert.left == 0).all()
    zero = ActionPerturbation(PerturbationCfg(prob=0.0), e)
    assert zero.apply(action)[1].all()


def test_perturbation_bursts_can_execute_a_learner_instead():
    from s2e.nav.perturbation import ActionPerturbation, PerturbationCfg

    expert, learner = torch.zeros(32, 21), torch.ones(32, 21)
    pert = ActionPerturbation(PerturbationCfg(prob=0.5, steps=2), 32, seed=3)
    for _ in range(5):
        out, is_expert = pert.apply(expert, learner)
        assert torch.equal(out[is_expert], expert[is_expert]) and torch.equal(out[~is_expert], learner[~is_expert])
        assert (~is_expert).any()
