"""Child processes: evaluation workers that end with their parent, and start-up work spread over the cores.

Evaluation scripts run their simulations in worker processes (Isaac Lab holds one simulation per
process). A worker left running after its parent was killed keeps a core busy and may write a result
nobody waits for, so workers are started with Linux's parent-death signal: they get SIGTERM when the
parent dies, by kill -9 too.

Building thousands of envs means thousands of independent single-threaded NumPy jobs (a block's
layout, its Gaussians); `parallel_map` runs them on worker processes when there are enough of them.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence


def _die_with_parent() -> None:
    import ctypes

    # PR_SET_PDEATHSIG; where glibc's prctl is missing the worker only ends by the parent's own clean-up
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def popen_worker(cmd: list[str], **kwargs) -> subprocess.Popen:
    """subprocess.Popen(cmd, **kwargs) for a worker that gets SIGTERM when this process dies (Linux)."""
    return subprocess.Popen(cmd, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None, **kwargs)


def usable_cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel_map(fn: Callable, jobs: Sequence[tuple], workers: int | None = None, min_jobs: int = 32) -> list:
    """[fn(*job) for job in jobs], in that order; with at least `min_jobs` jobs and more than one worker
    (default: the usable cores) on worker processes, each given every workers-th job.

    The workers are fresh interpreters (`python -c`, one thread each) that import only `fn`'s module:
    nothing of this process's simulation is shared with them, and the calling script is not imported
    again (as multiprocessing's spawn would). `fn` must be a module-level function and the jobs and
    results picklable.
    """
    workers = min(usable_cores() if workers is None else workers, len(jobs))
    if len(jobs) < min_jobs or workers < 2:
        return [fn(*job) for job in jobs]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-c", "from s2e.utils.processes import _serve; _serve()"]
    procs = [popen_worker(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env) for _ in range(workers)]
    try:
        for k, proc in enumerate(procs):
            proc.stdin.write(pickle.dumps((fn, list(jobs[k::workers])), protocol=pickle.HIGHEST_PROTOCOL))
            proc.stdin.close()
        outputs = [proc.stdout.read() for proc in procs]  # before wait(): a worker blocks until its output is read
        chunks = [pickle.loads(out) if proc.wait() == 0 else None for proc, out in zip(procs, outputs)]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    failed = [proc.returncode for proc in procs if proc.returncode != 0]
    if failed:
        raise RuntimeError(f"parallel_map: a worker running {fn.__module__}.{fn.__qualname__} exited with code "
                           f"{failed[0]} (its error is printed above)")
    out = [None] * len(jobs)
    for k, chunk in enumerate(chunks):
        out[k::workers] = chunk
    return out


def _serve() -> None:
    """A parallel_map worker: (fn, jobs) pickled on stdin, [fn(*job) ...] pickled on stdout."""
    fn, jobs = pickle.load(sys.stdin.buffer)
    results = [fn(*job) for job in jobs]
    sys.stdout.buffer.write(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
