"""The --viz flags and the S2E live view: the splat conversion and the flag checks (unit), a short
`play.py --viz viser` watched by a websocket client (sim), and a headless-Chromium screenshot of the page (browser)."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
PLAY = [sys.executable, str(ROOT / "scripts/play.py"), "--task", "S2E-Urban-Wheeled", "--mode", "base", "--num_envs",
        "1",
        "--checkpoint", str(ROOT / "assets/agdm/agdm_wheeled.pt"), "--no-video", "--no-export", "--episodes_per_env",
        "200", "--viz", "viser"]


def _parse(*flags: str) -> argparse.Namespace:
    from s2e_isaaclab.utils.cli import add_env_args

    parser = argparse.ArgumentParser()
    add_env_args(parser)
    return parser.parse_args(list(flags))


# -- unit -----------------------------------------------------------------------------------------------


def test_splat_arrays_give_viser_covariances_colours_and_drop_invisible_gaussians():
    from s2e.rendering import GaussianScene
    from s2e.rendering.gaussians import rgb_to_sh0
    from s2e_isaaclab.utils.live_view import splat_arrays

    half = np.sqrt(0.5)
    scene = GaussianScene(means=torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [4.0, 5.0, 6.0]]),
                          # 90 deg about z
                          quats=torch.tensor([[half, 0.0, 0.0, half], [1.0, 0, 0, 0], [1.0, 0, 0, 0]]),
                          scales=torch.tensor([[0.3, 0.1, 0.2], [1.0, 1.0, 1.0], [0.5, 0.5, 0.5]]),
                          opacities=torch.tensor([0.8, 0.0, 0.4]),
                          sh=rgb_to_sh0(torch.tensor([[[0.2, 0.4, 0.9]], [[1.0, 1.0, 1.0]], [[0.0, 1.0, 0.0]]])))
    out = splat_arrays(scene)
    assert out["centers"].tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]  # the transparent one is gone
    # rotating x onto y swaps the variances of x and y
    np.testing.assert_allclose(out["covariances"][0], np.diag([0.01, 0.09, 0.04]), atol=1e-6)
    np.testing.assert_allclose(out["covariances"][1], np.diag([0.25] * 3), atol=1e-6)
    np.testing.assert_allclose(out["rgbs"], [[0.2, 0.4, 0.9], [0.0, 1.0, 0.0]], atol=1e-6)
    assert out["opacities"].shape == (2, 1) and out["opacities"][:, 0].tolist() == pytest.approx([0.8, 0.4])


def test_viz_flag_is_isaac_labs_and_headless_means_none():
    from s2e_isaaclab.utils.cli import UserError, check_viz_args

    # Isaac Lab's parser: canonical names ('newton' is its old name of newton_gl)
    args = _parse("--viz", "viser,newton")
    assert args.visualizer == ["viser", "newton_gl"]
    headless = _parse("--headless")
    check_viz_args(headless)
    assert headless.visualizer == []  # Isaac Lab's '--viz none'
    with pytest.raises(UserError, match="--headless means no visualizer.*drop one"):
        check_viz_args(_parse("--headless", "--viz", "viser"))
    with pytest.raises(SystemExit):
        _parse("--viz", "vizer")
    with pytest.raises(UserError, match="--viz_port 0"):
        check_viz_args(_parse("--viz", "viser", "--viz_port", "0"))


def test_the_live_view_listens_on_loopback_unless_told_and_warns_when_told(capsys):
    from s2e_isaaclab.utils.cli import LOOPBACK, UserError, check_viz_args

    args = _parse("--viz", "viser")
    assert args.viz_host == LOOPBACK == "127.0.0.1"
    check_viz_args(args)
    assert capsys.readouterr().err == ""
    check_viz_args(_parse("--viz", "viser", "--viz_host", "0.0.0.0"))
    warning = capsys.readouterr().err
    assert warning.startswith("warning: --viz_host 0.0.0.0") and "pause and reset the simulation" in warning
    with pytest.raises(UserError, match="--viz_host no-such-host.invalid: not an address"):
        check_viz_args(_parse("--viz", "viser", "--viz_host", "no-such-host.invalid"))


def test_unavailable_visualizers_fail_with_what_to_install(monkeypatch):
    import importlib.util

    from s2e_isaaclab.utils.cli import UserError, check_viz_args

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("rerun", "viser") else real(name, *a))
    with pytest.raises(UserError, match=r"--viz rerun needs the Python package 'rerun'.*pip install 'rerun-sdk"):
        check_viz_args(_parse("--viz", "rerun"))
    with pytest.raises(UserError, match=r"--viz viser needs .*pip install viser==1\.0\.26"):
        check_viz_args(_parse("--viz", "viser"))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(UserError, match="newton_gl opens a desktop window.*no display.*--viz viser"):
        check_viz_args(_parse("--viz", "newton_gl"))


def test_a_bad_viz_flag_fails_in_one_line_before_the_simulation_starts():
    proc = subprocess.run([*PLAY[:-2], "--headless", "--viz", "viser"], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert (proc.stderr.strip().splitlines()[-1]
            == "error: --headless means no visualizer, but --viz viser asks for one: drop one of the two")


# -- a live server ----------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve_play(port: int) -> subprocess.Popen:
    """play.py --viz viser on `port`, its output in a file (a pipe that nobody reads would stall it)."""
    log = open(ROOT / "logs" / f"test_live_view_{port}.log", "w")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([*PLAY, "--viz_port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def _wait_for_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    end = time.time() + timeout
    while time.time() < end:
        assert proc.poll() is None, \
            f"play.py ended early: {(ROOT / 'logs' / f'test_live_view_{port}.log').read_text()[-2000:]}"
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1.0)
    raise AssertionError(f"no server on port {port} after {timeout} s")


def _decode(frame: bytes) -> tuple[list[dict], list[int]]:
    """viser's wire format (API v1): decompressed size, compressed size, zstd msgpack {messages, binaryBufferLengths},
    buffers."""
    import msgspec
    import zstandard

    size = int.from_bytes(frame[8:16], "little")
    inner = msgspec.msgpack.decode(zstandard.ZstdDecompressor().decompress(frame[16:16 + size]))
    return inner["messages"], list(inner["binaryBufferLengths"])


def _watch(port: int, seconds: float) -> dict:
    """Connect as a browser would and collect what the server sends: created nodes by name and type, the
    Gaussian count of each splat node, and every position set for each node."""
    import viser
    from websockets.sync.client import connect

    nodes, positions = {}, {}
    end = time.time() + seconds
    with connect(f"ws://127.0.0.1:{port}", subprotocols=[f"viser-v{viser.__version__}"], max_size=None,
                 open_timeout=30) as ws:
        while time.time() < end:
            try:
                frame = ws.recv(timeout=max(0.1, end - time.time()))
            except TimeoutError:
                break
            messages, buffers = _decode(frame)
            for m in messages:
                name = m.get("name")
                if m["type"] == "GaussianSplatsMessage":  # 8 uint32 per Gaussian in its binary buffer
                    nodes[name] = ("GaussianSplatsMessage", buffers[m["props"]["buffer"]["__binary_index"]] // 32)
                elif m["type"].endswith("Message") and "props" in m and name:
                    nodes[name] = (m["type"], None)
                elif m["type"] == "SetPositionMessage":
                    positions.setdefault(name, []).append(tuple(m["position"]))
            if len({p for p in positions.get("/s2e/robot", [])}) >= 3:
                break
    return {"nodes": nodes, "positions": positions}


@pytest.fixture(scope="module")
def served_play():
    if not (ROOT / "assets/agdm/agdm_wheeled.pt").is_file():
        pytest.skip("the bundled AGDM checkpoint assets/agdm/agdm_wheeled.pt is absent")
    (ROOT / "logs").mkdir(exist_ok=True)
    port = _free_port()
    proc = _serve_play(port)
    try:
        _wait_for_port(port, proc, timeout=300)
        yield port, proc
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.mark.sim
def test_play_with_viz_viser_serves_the_splats_the_robot_the_route_and_a_moving_robot(served_play):
    port, proc = served_play
    seen = _watch(port, seconds=240)
    nodes = seen["nodes"]
    kind, count = nodes.get("/s2e/splats", (None, None))
    assert kind == "GaussianSplatsMessage" and count is not None and count > 10_000, nodes.get("/s2e/splats")
    assert nodes.get("/s2e/robot", (None,))[0] == "FrameMessage"
    assert nodes.get("/s2e/route", (None,))[0] == "LineSegmentsMessage"
    assert nodes.get("/s2e/goal", (None,))[0] == "IcosphereMessage"
    assert nodes.get("/s2e/plan/best", (None,))[0] == "LineSegmentsMessage"
    assert nodes.get("/s2e/camera", (None,))[0] == "CameraFrustumMessage"
    robot = seen["positions"].get("/s2e/robot", [])
    assert len(set(robot)) >= 2, f"the robot did not move between frames: {robot[:5]}"
    assert proc.poll() is None


def _outside_address() -> str | None:
    """This machine's address on its outward interface (no packet is sent), or None when it has only loopback."""
    import ipaddress

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            addr = s.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(addr).is_loopback else addr


@pytest.mark.sim
def test_the_live_views_port_is_closed_to_other_machines_by_default(served_play):
    port, proc = served_play
    addr = _outside_address()
    if addr is None:
        pytest.skip("this machine has no non-loopback address to try")
    with socket.socket() as s:
        s.settimeout(5)
        assert s.connect_ex((addr, port)) != 0, \
            f"port {port} answers on {addr}: the live view listens beyond this machine"
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) == 0
    assert proc.poll() is None


@pytest.mark.sim
@pytest.mark.browser
def test_headless_chromium_screenshot_of_the_live_view_is_not_blank(served_play, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("headless Chromium is absent: apt-get install chromium (.ci/run installs it)")
    from PIL import Image

    port, _ = served_play
    shot = tmp_path / "live_view.png"
    # software WebGL on a loaded 2-core machine can need longer than one budget to draw the splats: up to three tries
    for budget_ms in (25_000, 45_000, 60_000):
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu-sandbox", "--use-angle=swiftshader",
                        "--enable-unsafe-swiftshader", "--hide-scrollbars", "--window-size=1280,800",
                        f"--virtual-time-budget={budget_ms}", f"--screenshot={shot}", f"http://127.0.0.1:{port}"],
                       capture_output=True, text=True, timeout=180)
        assert shot.is_file()
        pixels = np.asarray(Image.open(shot).convert("RGB")).astype(np.float32)
        assert pixels.shape[:2] == (800, 1280)
        colours = np.unique((pixels[::8, ::8] // 32).reshape(-1, 3), axis=0)
        if pixels.std() > 20 and len(colours) > 40:
            break
    assert pixels.std() > 20 and len(colours) > 40, \
        f"blank-looking page: std {pixels.std():.1f}, {len(colours)} colours"
    if os.environ.get("S2E_LIVE_VIEW_SCREENSHOT"):  # docs/images/live_view.png is made this way
        shutil.copy(shot, os.environ["S2E_LIVE_VIEW_SCREENSHOT"])
