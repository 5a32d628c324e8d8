"""Integration: short runs of the real tasks on CPU (each scenario in its own process)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.sim


def scenario(name: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "tests/sim_scenarios.py"), name, *args], capture_output=True, text=True, cwd=ROOT, timeout=900)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(line[7:])


def test_tasks_are_registered_through_the_isaaclab_entry_point():
    out = subprocess.run([str(Path(sys.executable).parent / "isaaclab"), "list_envs"], capture_output=True, text=True, cwd=ROOT, timeout=300).stdout
    for task in ("S2E-Urban-Wheeled", "S2E-Urban-Quadruped", "S2E-Urban-Wheeled-Play", "S2E-Urban-Quadruped-Play"):
        assert task in out


def test_go2_walks_forward_and_turns_without_falling():
    r = scenario("go2_walk")
    assert 0.45 < r["speed"] < 0.75, r
    assert r["distance"] > 1.6 and r["upright"] > 0.8 and r["height"] > 0.2, r
    assert 0.5 < r["turn_rate"] < 1.1, r


def test_delivery_robot_follows_wheel_commands():
    r = scenario("wheeled_drive")
    assert 0.48 < r["speed"] < 0.72 and abs(r["yaw_rate"]) < 0.1, r
    assert 0.2 < r["turn_speed"] < 0.4 and 0.4 < r["turn_rate"] < 0.8, r


def test_expert_episodes_with_obstacles_and_pedestrians_log_metrics():
    r = scenario("expert_episodes")
    eps = r["episodes"]
    assert len(eps["success"]) >= 4
    assert sum(eps["success"]) / len(eps["success"]) >= 0.5
    assert all(0.0 <= rc <= 1.0 for rc in eps["route_completion"])
    assert {"Metrics/nav/success", "Metrics/nav/route_completion", "Metrics/nav/collisions"} <= set(r["log_keys"])
    assert r["min_ped_separation"] >= 0.58
    assert r["ped_body_moved"] > 1.0  # the kinematic pedestrian bodies follow the crowd


def test_driving_into_a_building_counts_one_collision_and_ends_the_episode():
    r = scenario("collision_into_building")
    assert r["terminated"] and r["collisions"] == 1, r


def test_same_seed_same_blocks_and_episodes_different_seed_differs():
    a, b, c = scenario("layout_fingerprint", "5"), scenario("layout_fingerprint", "5"), scenario("layout_fingerprint", "6")
    assert a == b
    assert a["layouts"] != c["layouts"]


def test_scene_bundle_episodes_follow_its_routes_and_its_mesh_stops_the_robot():
    r = scenario("bundle_episode")
    assert r["layouts_shared"] and r["mesh_colliders"] == 2, r  # one triangle-mesh collider per env tile
    assert r["start_err"] < 0.05 and r["goal_err"] < 1e-4, r  # robot spawned at the route start, goal = route goal
    assert r["snap"] < 1.5 and r["routes_used"] >= 2, r
    assert 0.08 < r["z_range"][0] and r["z_range"][1] < 0.12, r  # stands on the ground (a convex-hull mesh pushes it under)
    assert r["start_gap"] > r["radius"] + 1.0, r
    assert r["radius"] - 0.05 < r["min_gap"] and r["final_gap"] < r["radius"] + 0.3, r  # stopped at the wall
    assert r["collisions"] >= 1, r
