"""Integration: short runs of the real tasks on CPU (each scenario in its own process)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.sim


def scenario(name: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "tests/sim_scenarios.py"), name, *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=900)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert line is not None, (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(line[7:])


def test_tasks_are_registered_through_the_isaaclab_entry_point():
    out = subprocess.run([str(Path(sys.executable).parent / "isaaclab"), "list_envs"], capture_output=True, text=True,
                         cwd=ROOT, timeout=300).stdout
    for task in ("S2E-Urban-Wheeled", "S2E-Urban-Quadruped", "S2E-Urban-Wheeled-Play", "S2E-Urban-Quadruped-Play",
                 *(f"NavBench-GS-{t}-{r}" for t in ("Empty", "Obstacle", "Pedestrian", "Mixed")
                   for r in ("Wheeled", "Quadruped"))):
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
    # an episode that reached its goal completed its route, whatever its progress along the polyline said
    assert all(rc == 1.0 for rc, ok in zip(eps["route_completion"], eps["success"]) if ok), eps
    assert {"Metrics/nav/success", "Metrics/nav/route_completion", "Metrics/nav/collisions"} <= set(r["log_keys"])
    assert r["min_ped_separation"] >= 0.58
    assert r["ped_body_moved"] > 1.0  # the kinematic pedestrian bodies follow the crowd
    assert r["route_far_err"] < 1e-4 and all(1.5 < d <= 3.05 for d in r["route_near"]), r


def test_driving_into_a_building_counts_one_collision_and_ends_the_episode():
    r = scenario("collision_into_building")
    assert r["terminated"] and r["collisions"] == 1, r


def test_each_block_collides_in_its_own_world_and_its_walls_stop_the_robot_there():
    """Every block's colliders belong to its env's Newton world (one global ground), the same count in every world
    (MuJoCo-Warp's requirement), and a robot driven at a wall stops at it in any world, not only world 0."""
    r = scenario("walls_in_every_world")
    assert r["global_shapes"] == 1 and len(set(r["per_world"])) == 1 and r["per_world"][0] > 20, r
    assert all(d <= 0.0 for d in r["past_face"]), r  # nobody drove into a building
    at_wall = [i for i, d in enumerate(r["past_face"]) if -r["radius"] - 0.3 < d <= 0.0]
    assert len([i for i in at_wall if i > 0]) >= 2, r  # stopped by the wall in worlds other than world 0


def test_same_seed_same_blocks_and_episodes_different_seed_differs():
    a, b, c = (scenario("layout_fingerprint", seed) for seed in ("5", "5", "6"))
    assert a == b
    assert a["layouts"] != c["layouts"]


def test_same_start_groups_share_block_and_episodes():
    r = scenario("same_start_groups")
    assert r["shared_block"] and r["first_same"] and r["groups_differ"] and r["second_differs_from_first"], r
    assert r["second_same_goal"] and r["active_pedestrians"] > 0, r


def test_scene_bundle_episodes_follow_its_routes_and_its_mesh_stops_the_robot():
    r = scenario("bundle_episode")
    assert r["layouts_shared"] and r["mesh_colliders"] == 2, r  # one triangle-mesh collider per env tile
    assert r["start_err"] < 0.05 and r["goal_err"] < 1e-4, r  # robot spawned at the route start, goal = route goal
    assert r["snap"] < 1.5 and r["routes_used"] >= 2, r
    # stands on the ground: a convex-hull mesh pushes it under (z <= 0); contacts may lift the written base a little
    assert 0.08 < r["z_range"][0] and r["z_range"][1] < 0.16, r
    assert r["start_gap"] > r["radius"] + 1.0, r
    assert r["radius"] - 0.05 < r["min_gap"] and r["final_gap"] < r["radius"] + 0.3, r  # stopped at the wall
    assert r["collisions"] >= 1, r


@pytest.mark.parametrize("task", ["S2E-Urban-Wheeled", "S2E-Urban-Quadruped"])
def test_camera_renders_a_street_with_people_into_a_frame_history(task):
    r = scenario("camera_observations", task)
    k = r["history"]
    assert r["rgb_shape"] == [2, k, 3, 64, 64] and r["depth_shape"] == [2, k, 1, 64, 64], r
    assert r["rgb_std"] > 0.05 and 0.0 <= r["rgb_min"] and r["rgb_max"] <= 1.0, r  # an image, not flat colour
    assert 0.2 < r["bottom_depth_m"] < 3.0 and r["top_depth"] > 0.5, r  # ground near the robot below, far things above
    assert r["shifted"] and r["moved"] > 0.0, r  # newest frame appended, older ones shifted
    assert r["refilled_equal"] and r["other_env_kept"], r  # a reset env restarts its history from one frame
    assert r["people_gaussians"] == r["active_pedestrians"] * r["gaussians_per_person"] > 0, r


def test_record_rollout_writes_an_mp4(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/record_rollout.py"), "--task", "S2E-Urban-Wheeled",
                           "--num_envs", "1", "--mode", "base", "--content", "pedestrians", "--seconds", "1.5",
                           "--view_size", "128", "--log_dir", str(tmp_path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    videos = list(tmp_path.rglob("rollout.mp4"))
    assert len(videos) == 1 and not list(tmp_path.rglob("*.partial.mp4")), list(tmp_path.rglob("*"))
    import imageio.v2 as imageio

    reader = imageio.get_reader(videos[0])
    frames = [f for f in reader]
    assert len(frames) == 15 and frames[0].shape[1] > frames[0].shape[0] > 128  # camera beside the map


@pytest.mark.sim
def test_bundled_agdm_checkpoint_drives_in_closed_loop(tmp_path):
    """eval_agdm.py with its default (the bundled checkpoint) on short routes: it runs the camera, the
    policy and the waypoint action together and makes progress along the route."""
    cmd = [sys.executable, str(ROOT / "scripts/eval_agdm.py"), "--num_envs", "2", "--mode", "base", "--content",
           "empty",
           "--seed", "5", "--log_dir", str(tmp_path), "env.commands.nav.route.min_distance=6",
           "env.commands.nav.route.max_distance=10"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (result,) = tmp_path.glob("*/*/results.json")
    r = json.loads(result.read_text())
    assert r["episodes"] == 2 and r["goal"] == "route" and r["checkpoint"].endswith("agdm/agdm_wheeled.pt")
    assert r["RC"] > 0.3, r
    assert (result.parent / "episodes.png").is_file()
