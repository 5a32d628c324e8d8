import os
import signal
import subprocess
import sys
import time

import pytest

PARENT = """
import sys, time
from s2e.utils.processes import popen_worker
worker = popen_worker([sys.executable, "-c", "import time; time.sleep(60)"])
print(worker.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie waiting for its (new) parent's wait() is gone too
        return f.read().split()[2] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_worker_ends_when_its_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    assert _alive(worker)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 10
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)


def test_parallel_map_keeps_the_order_and_reports_a_failed_worker():
    from s2e.utils.processes import parallel_map

    jobs = [(a, 7) for a in range(50)]
    assert parallel_map(divmod, jobs, workers=3, min_jobs=1) == [divmod(a, 7) for a in range(50)]
    assert parallel_map(divmod, jobs[:2], workers=3) == [(0, 0), (0, 1)]  # few jobs: in this process
    with pytest.raises(RuntimeError, match="a worker running builtins.divmod exited with code 1"):
        parallel_map(divmod, [(1, 1), (1, 0)], workers=2, min_jobs=1)
