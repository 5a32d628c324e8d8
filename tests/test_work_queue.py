"""The kernels' work queue: every job runs exactly once, whatever the thread count (the images' independence of
which thread took which job: tests/test_threading_layer.py)."""

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

