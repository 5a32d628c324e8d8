"""Shared fixtures. Unit tests run on the core library alone; tests marked `sim` start Isaac Lab (CPU)."""

import os

import numpy as np
import pytest
import torch

from s2e.urban.layout import UrbanLayoutCfg, generate_layout
from s2e.utils.processes import usable_cores

SIM_TIMEOUT_S = 600
"""A test that starts a simulation (a few env builds and short runs) gets this limit unless it sets its own."""


def pytest_configure(config):
    """Under pytest-xdist (pytest.ini runs one worker per core) each worker and the processes its tests start
    share the cores: threads per process = cores / workers, so the workers do not oversubscribe the machine."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        share = max(1, usable_cores() // int(workers))
        torch.set_num_threads(share)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, str(share))


def pytest_collection_modifyitems(config, items):
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)
        if "sim" in item.keywords and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SIM_TIMEOUT_S))


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small ops: one thread avoids intra-op hand-offs and oversubscription on a shared machine.
    Use in a module with `pytestmark = pytest.mark.usefixtures("one_torch_thread")`."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def layouts():
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = 1.5
    return [generate_layout(cfg, seed) for seed in range(6)]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tiny_agdm():
    """A small AGDM (32-d, 8 modes, 32x32 frames) at its seeded initial weights, in eval mode."""
    from s2e.models.agdm import AGDM, AGDMConfig

    torch.manual_seed(0)
    cfg = AGDMConfig(d_model=32, n_heads=2, fusion_layers=1, decoder_layers=2, num_modes=8,
                     cnn_channels=(8, 16, 16, 16), image_size=(32, 32))
    return AGDM(cfg, torch.stack([torch.full((8,), 8.0), torch.linspace(-6, 6, 8)], -1)).eval()


@pytest.fixture(scope="session")
def git_checkout():
    """The repository root when it is a git checkout with history (the benchmarks' --baseline needs one); tests
    that compare with another revision skip in a copy without .git."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    try:
        subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "HEAD"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: a baseline revision needs the repository's history")
    return root

