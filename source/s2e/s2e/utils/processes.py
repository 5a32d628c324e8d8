"""Child processes that end with their parent.

Evaluation scripts run their simulations in worker processes (Isaac Lab holds one simulation per
process). A worker left running after its parent was killed keeps a core busy and may write a result
nobody waits for, so workers are started with Linux's parent-death signal: they get SIGTERM when the
parent dies, by kill -9 too.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys


def _die_with_parent() -> None:
    import ctypes

    # PR_SET_PDEATHSIG; where glibc's prctl is missing the worker only ends by the parent's own clean-up
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def popen_worker(cmd: list[str], **kwargs) -> subprocess.Popen:
    """subprocess.Popen(cmd, **kwargs) for a worker that gets SIGTERM when this process dies (Linux)."""
    return subprocess.Popen(cmd, preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None, **kwargs)
