"""Numba's threading layer for the CPU kernels (OpenMP, then Numba's workqueue, then TBB), and their thread count.

Numba's own order puts TBB first whenever a TBB library can be loaded, and inside Isaac Lab one always can
(USD ships its own libtbb). At interpreter exit Numba's TBB pool waits on its task group, and under a
one-core CPU affinity (`taskset -c 1`, a cgroup-limited cluster job) that wait never ends: the process hangs
after its work is done. The OpenMP and workqueue layers have no such exit wait. The kernels' loops are
independent per image or tile, so the layer changes speed, never pixels. A user's
NUMBA_THREADING_LAYER or NUMBA_THREADING_LAYER_PRIORITY is kept.
"""

from __future__ import annotations

import os

from numba import config

PRIORITY = ["omp", "workqueue", "tbb"]


def prefer_openmp() -> None:
    """Put OpenMP and the workqueue ahead of TBB, unless the user chose; must run before the first parallel
    kernel launches (Numba fixes its layer then)."""
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    config.THREADING_LAYER_PRIORITY = list(PRIORITY)


def follow_omp_num_threads() -> None:
    """Size Numba's thread pool by OMP_NUM_THREADS when that is set (and NUMBA_NUM_THREADS is not): the budget a
    parent gave this process (NavBench-GS's task workers, torchrun's ranks, a job of one core). Numba otherwise
    launches a thread per core, and under its OpenMP layer that count also becomes the OpenMP thread count torch runs
    with, so two processes on two cores run four threads that spin waiting for each other (docs/performance.md has the
    figures). Must run before the first parallel kernel launches (the pool's size is fixed then); thread counts change
    speed, never pixels (each image and tile is its own work item)."""
    if "NUMBA_NUM_THREADS" in os.environ:
        return
    try:
        wanted = int(os.environ.get("OMP_NUM_THREADS", ""))
    except ValueError:
        return
    from numba.np.ufunc import parallel

    if wanted < 1 or parallel._is_initialized or wanted >= config.NUMBA_NUM_THREADS:
        return
    config.NUMBA_NUM_THREADS = parallel.NUM_THREADS = wanted  # read when the pool launches (Numba 0.6x)
