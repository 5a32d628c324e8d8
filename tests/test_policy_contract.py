"""The NavBench-GS policy contract without a simulator: specs and answers are checked with one-line errors,
messages survive the wire format, the example policy (which imports nothing of this project) is served from
its own process and answers through PolicyClient as it does in-process, and the AGDM adapter acts as AGDMPolicy."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from s2e.navbench.contract import ContractError, PolicyClient, PolicySpec, check_action, load_factory, pack, unpack

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "navbench_policy"


def observation(num_envs=3, spec=PolicySpec(image_size=(48, 64), context=2), seed=0):
    rng = np.random.default_rng(seed)
    h, w = spec.image_size
    return {"rgb": rng.integers(0, 256, (num_envs, spec.context, h, w, 3), dtype=np.uint8),
            "goal": rng.normal(size=(num_envs, 2)).astype(np.float32) * 10,
            "route_point": rng.normal(size=(num_envs, 2)).astype(np.float32) * 3,
            "velocity": rng.normal(size=(num_envs, 3)).astype(np.float32),
            "reset": np.array([True, False, False][:num_envs])}


def test_a_spec_takes_defaults_and_rejects_what_cannot_be_rendered_or_driven():
    spec = PolicySpec.from_mapping({"image_size": [48, 64], "context": 2})
    assert spec.image_size == (48, 64) and spec.hfov_deg == 90.0 and spec.output == "waypoints"
    assert PolicySpec.from_mapping(spec.to_mapping()) == spec
    for bad, message in [({"image_size": [4, 64]}, "image_size"), ({"hfov_deg": 200}, "hfov_deg"),
                         ({"context": 0}, "context"),
                         ({"output": "torque"}, "output 'torque'"), ({"fov": 90}, "unknown spec keys"),
                         ([64, 64], "mapping"), ({"context": "four"}, "not a number"),
                         ({"waypoint_dt": 5.0}, "waypoint_dt")]:
        with pytest.raises(ContractError, match=message) as err:
            PolicySpec.from_mapping(bad)
        assert "\n" not in str(err.value)


def test_answers_are_checked_against_the_declared_output():
    spec = PolicySpec(num_waypoints=4)
    ok = check_action({"waypoints": np.zeros((2, 4, 2)), "speed_scale": np.ones(2)}, spec, 2)
    assert ok["waypoints"].dtype == np.float32 and set(ok) == {"waypoints", "speed_scale"}
    velocity = PolicySpec(output="velocity")
    assert check_action({"velocity": [[0.5, 0.1], [0.0, 0.0]]}, velocity, 2)["velocity"].shape == (2, 2)
    for action, spec_, message in [
        ({"waypoints": np.zeros((2, 5, 2))}, spec, r"shape \[2, 5, 2\], the contract wants \[2, 4, 2\]"),
        ({"velocity": np.zeros((2, 2))}, spec, "declares output 'waypoints'"),
        ({"waypoints": np.full((2, 4, 2), np.nan)}, spec, "NaN"),
        ({"waypoints": np.zeros((2, 4, 2)), "steer": 1}, spec, "unknown action keys"),
        ({"velocity": np.zeros((2, 2)), "speed_scale": np.ones(2)}, velocity, "does not go with output 'velocity'"),
        (np.zeros(3), spec, "must return a mapping"),
    ]:
        with pytest.raises(ContractError, match=message):
            check_action(action, spec_, 2)


def test_messages_keep_arrays_bit_for_bit():
    obs = observation()
    back = unpack(pack({**obs, "note": "text", "n": np.int64(3)}))
    assert back["note"] == "text" and back["n"] == 3
    for key, value in obs.items():
        assert back[key].dtype == value.dtype and np.array_equal(back[key], value)


def test_factories_are_loaded_by_name_with_one_line_errors():
    policy = load_factory("examples.navbench_policy.route_follower:make_policy", speed=0.5)
    assert PolicySpec.from_mapping(policy.spec).image_size == (48, 64)
    for target, message in [("no_colon", "package.module:function"), ("examples.nowhere:make", "cannot be loaded"),
                            ("examples.navbench_policy.route_follower:missing", "cannot be loaded"),
                            ("numpy:zeros", "must return an object with a `spec`")]:
        with pytest.raises(ContractError, match=message):
            load_factory(target, **({"shape": 2} if target == "numpy:zeros" else {}))


def test_the_example_policy_can_command_velocities():
    policy = load_factory("examples.navbench_policy.route_follower:make_policy", output="velocity")
    spec = PolicySpec.from_mapping(policy.spec)
    obs = observation(spec=spec)
    command = check_action(policy(obs), spec, 3)["velocity"]
    heading = np.arctan2(obs["route_point"][:, 1], obs["route_point"][:, 0])
    assert np.allclose(command[:, 1], heading, atol=1e-6) and (command[:, 0] > 0).all()


def test_the_example_policy_drives_towards_the_route_point():
    policy = load_factory("examples.navbench_policy.route_follower:make_policy", speed=0.8)
    spec = PolicySpec.from_mapping(policy.spec)
    obs = observation(spec=spec)
    action = check_action(policy(obs), spec, 3)
    way = action["waypoints"]
    direction = obs["route_point"] / np.linalg.norm(obs["route_point"], axis=1, keepdims=True)
    assert np.allclose(way[:, -1] / np.linalg.norm(way[:, -1], axis=1, keepdims=True), direction, atol=1e-5)
    assert np.all(np.diff(np.linalg.norm(way, axis=2), axis=1) > 0)  # moving away from the robot, step by step


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def example_server():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(EXAMPLE / "serve.py"), "--port", str(port), "--speed", "0.8"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/")
    assert "serving" in proc.stdout.readline()
    yield f"ws://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_the_example_served_from_another_process_answers_as_in_process(example_server):
    local = load_factory("examples.navbench_policy.route_follower:make_policy", speed=0.8)
    client = PolicyClient(example_server)
    try:
        assert client.spec == local.spec
        for seed in range(3):
            obs = observation(seed=seed)
            remote = check_action(client(obs), PolicySpec.from_mapping(client.spec), 3)
            assert np.array_equal(remote["waypoints"], local(obs)["waypoints"])
    finally:
        client.close()


def test_a_missing_server_is_one_line():
    start = time.time()
    with pytest.raises(ContractError, match="no policy server answers at ws://127.0.0.1"):
        PolicyClient(f"ws://127.0.0.1:{_free_port()}", timeout_s=5)
    assert time.time() - start < 10


def test_the_agdm_adapter_acts_as_the_direct_policy(tiny_agdm):
    from s2e.navbench.agdm_contract import AGDMContractPolicy

    adapter = AGDMContractPolicy(tiny_agdm)
    spec = PolicySpec.from_mapping(adapter.spec)
    obs = observation(spec=spec)
    answer = check_action(adapter(obs), spec, 3)
    frames = torch.from_numpy(obs["rgb"]).permute(0, 1, 4, 2, 3).float() / 255.0
    with torch.inference_mode():
        direct = tiny_agdm(frames, torch.from_numpy(obs["route_point"])).action("best")
    assert torch.equal(torch.cat([torch.from_numpy(answer["waypoints"]).flatten(1),
                                  torch.from_numpy(answer["speed_scale"])[:, None]], 1),
                       direct)


def test_the_example_imports_nothing_of_this_project():
    import ast

    for path in EXAMPLE.glob("*.py"):
        tree = ast.parse(path.read_text())
        modules = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        modules |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not any(m.split(".")[0] in ("s2e", "s2e_isaaclab", "isaaclab", "torch") for m in modules), \
            (path.name, modules)
