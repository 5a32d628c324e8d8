"""Numba's threading layer for the CPU kernels: OpenMP, then Numba's workqueue, then TBB.

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
