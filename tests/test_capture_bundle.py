"""make_bundle_from_capture.py on a synthetic raw capture: a procedural block's Gaussians only (no mesh),
stored with up = -y, tilted 5 deg, scaled 0.3 and offset; and the .splat reader."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from s2e.rendering.ply import PlyError, save_ply
from s2e.rendering.splat_file import load_splat, save_splat
from s2e.urban.appearance import urban_scene_gaussians
from s2e.urban.appearance_cfg import UrbanGaussianCfg
from s2e.urban.layout import (
    BUILDING,
    CROSSWALK,
    ROAD,
    SIDEWALK,
    UrbanLayoutCfg,
    collision_footprints,
    footprint_mask,
    generate_layout,
)
from s2e.urban.scene_bundle import Alignment, load_scene_bundle

REPO = Path(__file__).resolve().parents[1]
SEED = 3


def _rx(a):
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def _rz(a):
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


# block (z up, m) -> capture: yaw 20 deg, z-up to -y-up, tilt 5 deg about x, x 0.3, offset
CAPTURE = Alignment(_rx(math.radians(5)) @ np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]) @ _rz(math.radians(20)),
                    np.array([4.0, -2.0, 1.5]), 0.3)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = 1.5
    layout = generate_layout(cfg, SEED)
    g = urban_scene_gaussians(layout, UrbanGaussianCfg(), SEED)
    # floaters: 300 faint-to-opaque single Gaussians scattered in the air over the block
    rng = np.random.default_rng(0)
    f = g.select(torch.as_tensor(rng.choice(g.num_gaussians, 300)))
    f.means[:] = torch.as_tensor(np.c_[rng.uniform(-25, 25, (300, 2)), rng.uniform(0.3, 6.0, 300)], dtype=torch.float32)
    g = type(g).cat([g, f])
    raw = g.transformed(torch.as_tensor(CAPTURE.rotation, dtype=torch.float32),
                        torch.as_tensor(CAPTURE.translation, dtype=torch.float32), CAPTURE.scale)
    root = tmp_path_factory.mktemp("capture")
    save_ply(raw, root / "raw.ply")
    out = root / "bundle"
    run = subprocess.run([sys.executable, str(REPO / "scripts/make_bundle_from_capture.py"), str(root / "raw.ply"),
                          "--out", str(out), "--scale", f"{1 / 0.3:.9f}"], capture_output=True, text=True, cwd=REPO,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    return layout, out, run.stdout


def test_up_direction_is_recovered_within_a_degree(made):
    _, out, stdout = made
    line = next(l for l in stdout.splitlines() if l.startswith("up direction"))
    up = np.array([float(v) for v in line.split("(")[2].split(")")[0].split(",")])
    true_up = CAPTURE.rotation @ [0, 0, 1.0]
    assert math.degrees(math.acos(np.clip(up @ true_up / np.linalg.norm(up), -1, 1))) < 1.0
    # the alignment the tool wrote takes the capture's up to +z
    b = load_scene_bundle(out)
    assert (b.alignment.rotation @ true_up)[2] > math.cos(math.radians(1.0))
    for word in ("scale:", "yaw:", "tile centre:", "occupancy:", "cropped", "routes:"):
        assert word in stdout


def test_walkable_and_obstacle_grids_match_the_block(made):
    layout, out, _ = made
    b = load_scene_bundle(out, route_clearance=0.75)
    pts = layout.cell_centers().reshape(-1, 2)
    blocked = footprint_mask(pts, collision_footprints(layout), inflate=layout.resolution * 0.71)
    ref_free = np.isin(layout.semantic, (SIDEWALK, CROSSWALK, ROAD)).ravel() & ~blocked
    ref_walk = layout.walkable.ravel() & ~blocked  # sidewalks and crosswalks, roads not
    # block cell centres in the tool's tile
    tile = b.alignment.apply(CAPTURE.apply(np.c_[pts, np.zeros(len(pts))]))[:, :2]
    inside = (np.abs(tile) < b.size / 2).all(axis=1)
    ij = b.layout.cell_of(tile)
    walk = np.zeros(len(pts), bool)
    walk[inside] = b.layout.walkable[ij[inside, 0], ij[inside, 1]]
    obst = np.zeros(len(pts), bool)
    obst[inside] = b.layout.semantic[ij[inside, 0], ij[inside, 1]] == BUILDING  # the collision mesh's cells
    iou = lambda a, c: (a & c).sum() / (a | c).sum()
    assert iou(walk, ref_walk) >= 0.8, iou(walk, ref_walk)
    assert iou(obst, ~ref_free) >= 0.7, iou(obst, ~ref_free)


def test_outputs_routes_and_previews(made):
    _, out, _ = made
    for name in ("bundle.yaml", "scene.ply", "collision.ply", "preview.png", "first_person.png"):
        assert (out / name).is_file(), name
    spec = yaml.safe_load((out / "bundle.yaml").read_text())
    assert len(spec["routes"]) == 4
    lo, hi = spec["route_distance"]  # the walkable area's extent allows the task's default 10-40 m here
    assert (lo, hi) == (10.0, 40.0)
    from PIL import Image
    img = np.asarray(Image.open(out / "preview.png"))
    assert img.shape[1] >= 800 and img.shape[0] > img.shape[1] and img.std() > 10  # map, title, legend and scale bar


def test_too_few_routes_is_one_line_and_no_bundle(made, tmp_path):
    """Routes that do not fit (a clearance wider than the sidewalks) stop the tool before it writes anything."""
    raw = made[1].parent / "raw.ply"
    run = subprocess.run([sys.executable, str(REPO / "scripts/make_bundle_from_capture.py"), str(raw), "--out",
                          str(tmp_path / "b"), "--scale", f"{1 / 0.3:.9f}", "--route_clearance", "2.5", "--no_render"],
                         capture_output=True, text=True, cwd=REPO, timeout=600)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "--route_clearance" in run.stderr and "--walkable_ground all" in run.stderr, run.stderr
    assert not (tmp_path / "b").exists()


def _without_routes(out: Path, dest: Path, route_distance) -> Path:
    """A copy of the tool's bundle without its routes and with another route_distance."""
    import shutil
    shutil.copytree(out, dest)
    spec = yaml.safe_load((dest / "bundle.yaml").read_text())
    spec["routes"], spec["route_distance"] = [], route_distance
    (dest / "bundle.yaml").write_text(yaml.safe_dump(spec))
    return dest


def test_a_bundle_that_cannot_host_episodes_is_one_line_before_the_env(made, tmp_path):
    from s2e.urban.routes import RouteCfg
    from s2e.urban.scene_bundle import SceneBundleError, bundle_route_cfg, check_hosts_episodes

    ok = load_scene_bundle(_without_routes(made[1], tmp_path / "ok", [5.0, 20.0]))
    assert bundle_route_cfg(RouteCfg(clearance=0.75), ok).max_distance == 20.0
    check_hosts_episodes(ok, RouteCfg(clearance=0.75))  # sampled 5-20 m apart on the sidewalks
    far = _without_routes(made[1], tmp_path / "far", [60.0, 70.0])  # farther than the tile is wide
    with pytest.raises(SceneBundleError, match="holds no start and goal 60-70 m apart"):
        check_hosts_episodes(load_scene_bundle(far), RouteCfg(clearance=0.75))
    for argv in (["scripts/run_expert.py", "--task", "S2E-Urban-Wheeled", "--num_envs", "2", "--mode", "base",
                  "--no-camera", f"env.scene.terrain.scene_bundle={far}"],
                 ["scripts/make_navbench_episodes.py", "--scene_bundle", str(far), "--out", str(tmp_path / "eps"),
                  "--robots", "Wheeled"]):
        run = subprocess.run([sys.executable, str(REPO / argv[0]), *argv[1:]], capture_output=True, text=True,
                             cwd=tmp_path, timeout=600)
        errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
        assert run.returncode == 2 and len(errors) == 1 and "holds no start and goal" in errors[0], run.stderr[-2000:]
        assert "Traceback" not in run.stderr and "Simulation" not in run.stdout  # refused before the simulation started


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    (tmp_path / "c.splat").write_bytes(b"\0" * 33)
    for argv, message in (([str(tmp_path / "none.ply")], "capture file not found"),
                          ([str(tmp_path / "c.splat"), "--scale", "-1"], "--scale must be positive"),
                          ([str(tmp_path / "c.splat")], "not a whole number of 32-byte"),
                          ([str(tmp_path / "c.splat"), "--reference_length", "2"], "needs --reference_points")):
        run = subprocess.run([sys.executable, str(REPO / "scripts/make_bundle_from_capture.py"), *argv, "--out",
                              str(tmp_path / "o")],
                             capture_output=True, text=True, cwd=REPO, timeout=120)
        assert run.returncode == 2 and message in run.stderr and run.stderr.count("\n") == 1, run.stderr


# -- .splat ------------------------------------------------------------------------------------------------

def test_splat_records_decode_as_documented(tmp_path):
    rec = (np.array([1.0, -2.0, 3.5], "<f4").tobytes() + np.array([0.1, 0.2, 0.3], "<f4").tobytes()
           + bytes([255, 0, 128, 204]) + bytes([128 + 64, 128, 128 + 64, 128]))  # w = x... q = (0.5, 0, 0.5, 0)
    (tmp_path / "a.splat").write_bytes(rec * 2)
    g = load_splat(tmp_path / "a.splat")
    assert g.num_gaussians == 2
    np.testing.assert_allclose(g.means[0], [1.0, -2.0, 3.5])
    np.testing.assert_allclose(g.scales[0], [0.1, 0.2, 0.3], rtol=1e-6)
    np.testing.assert_allclose(g.opacities[0], 0.8, atol=1e-6)
    np.testing.assert_allclose(g.quats[0], [math.sqrt(0.5), 0, math.sqrt(0.5), 0], atol=1e-6)
    from s2e.rendering.gaussians import SH_C0
    np.testing.assert_allclose(0.5 + SH_C0 * g.sh[0, 0], [1.0, 0.0, 128 / 255], atol=1e-6)
    (tmp_path / "b.splat").write_bytes(rec[:31])
    with pytest.raises(PlyError, match="b.splat: 31 bytes"):
        load_splat(tmp_path / "b.splat")


def test_splat_round_trip(tmp_path):
    gen = torch.Generator().manual_seed(0)
    n = 100
    from s2e.rendering.gaussians import GaussianScene
    g = GaussianScene(means=torch.randn(n, 3, generator=gen),
                      quats=torch.nn.functional.normalize(torch.randn(n, 4, generator=gen), dim=-1),
                      scales=torch.rand(n, 3, generator=gen) * 0.5 + 0.01, opacities=torch.rand(n, generator=gen),
                      sh=(torch.rand(n, 1, 3, generator=gen) - 0.5) / 0.28209479177387814)
    back = load_splat(save_splat(g, tmp_path / "g.splat"))
    torch.testing.assert_close(back.means, g.means)
    torch.testing.assert_close(back.scales, g.scales)
    torch.testing.assert_close(back.opacities, g.opacities, atol=0.5 / 255 + 1e-6, rtol=0)
    torch.testing.assert_close(0.5 + 0.28209479177387814 * back.sh, 0.5 + 0.28209479177387814 * g.sh,
                               atol=0.5 / 255 + 1e-6, rtol=0)
    q, q0 = back.quats, g.quats
    err = torch.minimum((q - q0).norm(dim=-1), (q + q0).norm(dim=-1))
    assert err.max() < 0.02


def test_navbench_episode_files_are_made_for_the_tools_bundle(made, tmp_path):
    """NavBench-GS episodes for the tool's bundle: every start and goal on its walkable area (the sidewalks)."""
    _, out, _ = made
    episodes = tmp_path / "navbench"
    proc = subprocess.run([sys.executable, str(REPO / "scripts/make_navbench_episodes.py"), "--scene_bundle", str(out),
                           "--out", str(episodes), "--robots", "Wheeled", "--num_scenes", "1", "--episodes_per_scene",
                           "4"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    b = load_scene_bundle(out)
    suite = yaml.safe_load((episodes / "NavBench-GS-Obstacle-Wheeled.json").read_text())  # JSON is YAML
    assert len(suite["episodes"]) == 4
    from dataclasses import replace

    from s2e.navbench.episodes import layout_fingerprint
    from s2e.urban.families import appearance_family
    from s2e.urban.layout import with_spawned_obstacles
    # the Obstacle task holds obstacles: the scene is the bundle with obstacles spawned on its walkable area
    scene = suite["scenes"][0]
    layout = with_spawned_obstacles(b.layout, replace(appearance_family("urban").layout.obstacles,
                                                      density=scene["obstacle_density"]),
                                    scene["layout_seed"], passage=0.75)
    assert (scene["obstacle_density"] > 0 and len(layout.obstacles) > 0 and layout_fingerprint(layout)
            == scene["fingerprint"])
    for ep in suite["episodes"]:
        for point in (ep["start"], ep["goal"]):
            ij = layout.cell_of(np.asarray(point, float)[None, :2])[0]
            assert layout.walkable[ij[0], ij[1]], (point, ep)  # on the walkable area, off every spawned obstacle


@pytest.mark.sim
def test_the_expert_drives_the_tools_routes_in_the_task(made, tmp_path):
    """The bundle the tool wrote runs as the task's scene: the scripted expert reaches the goals of its routes."""
    _, out, _ = made
    proc = subprocess.run([sys.executable, str(REPO / "scripts/run_expert.py"), "--task", "S2E-Urban-Wheeled",
                           "--num_envs", "4", "--mode", "base", "--no-camera", "--log_dir", str(tmp_path / "expert"),
                           f"env.scene.terrain.scene_bundle={out}"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = proc.stdout.strip().splitlines()[-1]
    sr, rc = float(summary.split("SR ")[1].split()[0]), float(summary.split("RC ")[1].split()[0])
    assert sr >= 0.75 and rc >= 0.9, summary
