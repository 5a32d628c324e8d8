"""The kernels' work queue: every job runs exactly once, whatever the thread count, and the images do not depend
on which thread took which job."""

import os
import subprocess
import sys

import numba
import numpy as np
import pytest
from numba import njit, prange

from s2e.rendering.work_queue import claim


@njit(parallel=True)
def _run_jobs(costs, runs, workers):
    counter = np.zeros(1, np.int64)
    for _ in prange(workers):
        job = claim(counter)
        while job < costs.shape[0]:
            acc = 0.0
            for i in range(costs[job]):
                acc += np.sqrt(i + 1.0)
            runs[job] += 1 + 0 * acc
            job = claim(counter)


@pytest.mark.parametrize("workers", [1, 2, 7])
def test_every_job_runs_once(workers):
    costs = np.random.default_rng(0).integers(0, 2000, 301)
    runs = np.zeros(301, np.int64)
    _run_jobs(costs, runs, workers)
    assert (runs == 1).all()


def test_no_jobs():
    runs = np.zeros(0, np.int64)
    _run_jobs(np.zeros(0, np.int64), runs, numba.get_num_threads())
    assert runs.size == 0


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
    """The work queue hands jobs to whichever thread asks first; every job writes only its own outputs, so an uneven
    batch renders to the same bits with one thread and with two."""
    digests = []
    for threads in ("1", "2"):
        environ = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"} | {"NUMBA_NUM_THREADS": threads}
        proc = subprocess.run([sys.executable, "-c", UNEVEN_BATCH], capture_output=True, text=True, env=environ,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        digests.append(proc.stdout.split()[-1])
    assert digests[0] == digests[1]
