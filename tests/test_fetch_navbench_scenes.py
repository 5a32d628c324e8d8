"""fetch_navbench_scenes.py against a loopback server: download, hash check, reuse, offline and changed-source lines."""

import functools
import http.server
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from s2e.navbench.real_scenes import SceneFetchError, download_scene, load_manifest, sha256_of
from s2e.rendering.splat_file import save_splat
from s2e.urban.appearance import urban_scene_gaussians
from s2e.urban.appearance_cfg import UrbanGaussianCfg
from s2e.urban.layout import UrbanLayoutCfg, generate_layout

REPO = Path(__file__).resolve().parents[1]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A capture (a procedural block's Gaussians as .splat, z up, metres) served as <repository>/<commit>/<path>."""
    root = tmp_path_factory.mktemp("served")
    g = urban_scene_gaussians(generate_layout(UrbanLayoutCfg(), 5), UrbanGaussianCfg(), 5)
    g = g.select(torch.as_tensor(np.random.default_rng(0).permutation(g.num_gaussians)[: g.num_gaussians // 2]))
    path = root / "someone" / "captures" / COMMIT / "street" / "scene.splat"
    path.parent.mkdir(parents=True)
    save_splat(g, path)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", path
    httpd.shutdown()


def _manifest(tmp_path, sha256, name="street"):
    m = {"format_version": 1, "scenes": [{
        "name": name, "source": {"repository": "someone/captures", "commit": COMMIT}, "attribution": "a test block",
        "capture": "street/scene.splat", "files": [{"path": "street/scene.splat", "sha256": sha256}],
        "bundle": {"scale": 1.0, "up": "+z", "routes": 2}}]}
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(m))
    return path


def test_remake_then_fetch_gives_the_reviewed_bundle_with_the_fetched_gaussians(server, tmp_path):
    """--remake derives the reviewed files with the capture tool; a plain fetch puts the downloaded Gaussians under
    them."""
    url, served = server
    manifest = _manifest(tmp_path, sha256_of(served))
    run = lambda *extra: subprocess.run([sys.executable, str(REPO / "scripts/fetch_navbench_scenes.py"), "--manifest",
                                         str(manifest),  # noqa: E731
                                         "--base_url", url, "--cache", str(tmp_path / "cache"), *extra],
                                        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    proc = run("--out", str(tmp_path / "remade"), "--scenes", "street")
    assert proc.returncode == 2 and "no reviewed bundle" in proc.stderr and "--remake street" in proc.stderr, \
        proc.stderr[-2000:]
    proc = run("--out", str(tmp_path / "remade"), "--remake", "street")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "[real] street:" in proc.stdout and "2 routes" in proc.stdout and "remade" in proc.stdout, proc.stdout
    derived = tmp_path / "scenes" / "street"
    assert {p.name for p in derived.iterdir()} == {"bundle.yaml", "collision.ply"}
    proc = run("--out", str(tmp_path / "fetched"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    from s2e.navbench.episodes import layout_fingerprint
    from s2e.urban.scene_bundle import load_scene_bundle

    remade = load_scene_bundle(tmp_path / "remade" / "street")
    fetched = load_scene_bundle(tmp_path / "fetched" / "street")
    assert layout_fingerprint(remade.layout) == layout_fingerprint(fetched.layout) and len(fetched.routes) == 2
    assert torch.equal(remade.gaussians.means, fetched.gaussians.means)
    assert (tmp_path / "cache" / "street" / "street" / "scene.splat").read_bytes() == served.read_bytes()


def test_a_changed_source_keeps_nothing_and_a_kept_file_is_reused(server, tmp_path):
    url, served = server
    scene = load_manifest(_manifest(tmp_path, "0" * 64))[0]
    with pytest.raises(SceneFetchError, match="street/scene.splat from .* has sha256 .* the manifest says "
                                              "0000000000000000"):
        download_scene(scene, tmp_path / "cache", url)
    assert not any((tmp_path / "cache").rglob("*.splat*"))
    scene = load_manifest(_manifest(tmp_path, sha256_of(served)))[0]
    first = download_scene(scene, tmp_path / "cache", url)
    # nothing to fetch: the verified file is reused
    again = download_scene(scene, tmp_path / "cache", "http://127.0.0.1:9")
    assert first == again and sha256_of(again) == sha256_of(served)


def test_offline_is_one_line_and_exit_code_2(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manifest = _manifest(tmp_path, "a" * 64)
    proc = subprocess.run([sys.executable, str(REPO / "scripts/fetch_navbench_scenes.py"), "--manifest", str(manifest),
                           "--base_url",
                           f"http://127.0.0.1:{port}", "--cache", str(tmp_path / "cache"), "--out",
                           str(tmp_path / "b")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stderr
    assert "cannot reach" in errors[0] and "offline?" in errors[0], proc.stderr


def test_the_shipped_manifest_pins_every_file(tmp_path):
    scenes = load_manifest(REPO / "assets/navbench/real/manifest.yaml")
    assert scenes and all(len(s.commit) == 40 and s.files and s.attribution for s in scenes)
    with pytest.raises(SceneFetchError, match="full 40-digit commit"):
        bad = yaml.safe_load((REPO / "assets/navbench/real/manifest.yaml").read_text())
        bad["scenes"][0]["source"]["commit"] = "main"
        (tmp_path / "m.yaml").write_text(yaml.safe_dump(bad))
        load_manifest(tmp_path / "m.yaml")


@pytest.mark.timeout(900)
def test_each_shipped_scenes_episode_files_match_its_reviewed_bundle_files(tmp_path):
    """The committed episodes were made on the committed bundle files: their fingerprints match the layouts those
    files give (any capture's Gaussians: a stand-in here, as no capture is in the repository)."""
    from dataclasses import replace

    from s2e.navbench.episodes import layout_fingerprint, load_suite
    from s2e.navbench.real_scenes import derived_dir
    from s2e.rendering.gaussians import GaussianScene
    from s2e.urban.families import appearance_family
    from s2e.urban.layout import with_spawned_obstacles
    from s2e.urban.scene_bundle import bundle_with_gaussians, load_scene_bundle

    manifest = REPO / "assets/navbench/real/manifest.yaml"
    stand_in = GaussianScene(means=torch.zeros(1, 3), quats=torch.tensor([[1.0, 0, 0, 0]]),
                             scales=torch.full((1, 3), 0.1), opacities=torch.ones(1), sh=torch.zeros(1, 1, 3))
    for scene in load_manifest(manifest):
        b = load_scene_bundle(bundle_with_gaussians(derived_dir(manifest, scene), stand_in, tmp_path / scene.name))
        files = sorted((derived_dir(manifest, scene) / "navbench").glob("NavBench-GS-*.json"))
        assert len(files) == 8, files
        made = {}
        for path in files:
            suite = load_suite(path)
            clearance = 0.75 if path.stem.endswith("Wheeled") else 0.7  # each robot's radius + the tasks' 0.3 m margin
            for s in suite.scenes:
                # Obstacle and Mixed share their scenes
                key = (suite.family, s.obstacle_density, s.layout_seed, clearance)
                if key not in made:
                    obstacles = replace(appearance_family(suite.family).layout.obstacles, density=s.obstacle_density)
                    made[key] = layout_fingerprint(with_spawned_obstacles(b.layout, obstacles, s.layout_seed,
                                                                          clearance))
                assert made[key] == s.fingerprint, (path.name, s.layout_seed)
