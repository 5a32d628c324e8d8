"""The CPU kernels' Numba threading layer: not TBB when USD's libtbb is loaded (Numba's TBB pool hangs at
interpreter exit under a one-core CPU affinity), and a user's choice is kept; its pool follows OMP_NUM_THREADS, and the
thread count never changes an image."""

import os
import subprocess
import sys

import pytest

A_RENDER = """
import numba, torch
from s2e.rendering import GaussianScene, render
from s2e.rendering.cameras import intrinsics_from_fov, look_at
n = 64
scene = GaussianScene(means=torch.rand(n, 3), quats=torch.randn(n, 4), scales=torch.full((n, 3), 0.1),
                      opacities=torch.full((n,), 0.9), sh=torch.rand(n, 1, 3))
render(scene, look_at((0.0, -3.0, 2.0), (0.0, 0.0, 0.0))[None], intrinsics_from_fov(16, 16, 60.0)[None], 16, 16,
       backend="cpu")
"""
# USD's libtbb loaded first, as Isaac Lab does before any camera renders
RENDER_ONCE = "import pxr.Usd\n" + A_RENDER + "print(numba.threading_layer())\n"


def _layer_after_a_render(**env) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")} | env
    affinity = ["taskset", "-c", str(min(os.sched_getaffinity(0)))] if _has_taskset() else []
    proc = subprocess.run([*affinity, sys.executable, "-c", RENDER_ONCE], capture_output=True, text=True, env=environ,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()[-1]


def _has_taskset() -> bool:
    return subprocess.run(["sh", "-c", "command -v taskset"], capture_output=True).returncode == 0


def test_kernels_take_openmp_not_usds_tbb():
    pytest.importorskip("pxr")
    assert _layer_after_a_render() in ("omp", "workqueue")


def test_a_users_threading_layer_priority_is_kept():
    pytest.importorskip("pxr")
    assert _layer_after_a_render(NUMBA_THREADING_LAYER_PRIORITY="workqueue omp tbb") == "workqueue"


THREADS_AFTER_A_RENDER = A_RENDER + "print(numba.config.NUMBA_NUM_THREADS, numba.get_num_threads())\n"


def _run_with_threads(code: str, **env) -> list[str]:
    """The last words `code` prints, run in a fresh interpreter with no thread budget but `env`'s."""
    environ = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS")} | env
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.split()


def _numba_threads(**env) -> list[int]:
    return [int(x) for x in _run_with_threads(THREADS_AFTER_A_RENDER, **env)[-2:]]


def test_the_kernels_keep_to_omp_num_threads_and_a_users_numba_num_threads():
    cores, used = _numba_threads()  # no budget given: every core Numba sees
    assert used == cores >= 1
    if cores < 2:
        pytest.skip("one core: one thread either way")
    assert _numba_threads(OMP_NUM_THREADS="1") == [1, 1]  # a worker's budget: its pool, not just a mask
    assert _numba_threads(OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="2") == [2, 2]  # the user's own choice


UNEVEN_BATCH = """
import hashlib, torch
from s2e.rendering import GaussianScene, render
from s2e.rendering.cameras import intrinsics_from_fov, look_at
from s2e.rendering.culling import FrustumCuller
g = torch.Generator().manual_seed(0)
n = 20000
scene = GaussianScene(torch.rand(n, 3, generator=g) * torch.tensor([20.0, 20.0, 3.0]), torch.randn(n, 4, generator=g),
                      torch.rand(n, 3, generator=g) * 0.1 + 0.01, torch.rand(n, generator=g),
                      torch.rand(n, 1, 3, generator=g))
# inside the cloud looking along it, at its edge looking out, far outside: images of very different cost
eyes_and_targets = [((1.0, 10.0, 1.5), (19.0, 10.0, 1.0)), ((-3.0, 10.0, 1.5), (-9.0, 10.0, 1.0)),
                    ((10.0, 1.0, 1.5), (10.0, 19.0, 1.0)), ((40.0, 40.0, 1.5), (60.0, 60.0, 1.0)),
                    ((19.0, 19.0, 1.5), (1.0, 1.0, 1.0))]
views = torch.stack([look_at(eye, at) for eye, at in eyes_and_targets])
ks = intrinsics_from_fov(48, 40, 80.0).expand(len(views), 3, 3)
digest = hashlib.sha256()
for culler in (None, FrustumCuller(scene)):
    out = render(scene, views, ks, 48, 40, backend="cpu", antialiased=True, culler=culler)
    for t in (out.rgb, out.depth, out.alpha):
        digest.update(t.numpy().tobytes())
print(digest.hexdigest())
"""


def test_images_do_not_depend_on_how_many_threads_take_the_jobs():
    """The kernels' work queue hands jobs to whichever thread asks first; every job writes only its own outputs, so an
    uneven batch renders to the same bits with one thread and with two."""
    one, two = (_run_with_threads(UNEVEN_BATCH, NUMBA_NUM_THREADS=n)[-1] for n in ("1", "2"))
    assert one == two
