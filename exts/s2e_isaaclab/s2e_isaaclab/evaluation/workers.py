"""Evaluations in child processes (Isaac Lab runs one simulation per process) that never outlive their parent.

Every worker starts through s2e.utils.processes.popen_worker: it gets SIGTERM when this process dies, by
kill -9 too. `run_worker` runs one evaluation in the foreground and passes SIGINT / SIGTERM / SIGHUP on to
it; `run_jobs` runs the evaluations that are not saved yet, N at a time with one torch thread each. Both
end a failed evaluation with one line saying what is kept and that running again resumes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from s2e.utils.processes import popen_worker

from ..utils.cli import UserError
from .results import load_cached_result


def run_worker(cmd: list[str], what: str, partial: Path) -> None:
    """Run the worker `cmd` evaluating `what` and wait for it. A signal caught meanwhile is passed on to the worker
    and ends this process with 128 + its number; a worker killed by a signal ends it with 1, one failing otherwise
    with the worker's exit code (the worker printed its own error line; 2 for bad input). The line printed for a
    signal names what is kept (the finished episodes in `partial`, if any) and how to resume."""
    proc = popen_worker(cmd)
    caught: list[int] = []

    def forward(signum, _frame):
        caught.append(signum)
        if proc.poll() is None:
            proc.send_signal(signum)

    handlers = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = proc.wait()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    kept = f"the finished episodes are kept in {partial}" if partial.is_file() else "no episode had finished"
    if caught or code < 0:
        print(file=sys.stderr)  # end the worker's progress bar line
    if caught:
        print(f"error: interrupted by {signal.Signals(caught[0]).name} while evaluating {what}; {kept}: run the same "
              "command again to resume", file=sys.stderr, flush=True)
        sys.exit(128 + caught[0])
    if code < 0:
        print(f"error: the worker evaluating {what} was killed by {signal.Signals(-code).name}; {kept}: run the same "
              "command again to resume", file=sys.stderr, flush=True)
        sys.exit(1)
    if code != 0:
        sys.exit(code)


@dataclass
class Job:
    """One evaluation for `run_jobs`: the worker command `cmd` writes the result for `spec` to `out`."""

    cmd: list[str]
    label: str
    """What is evaluated, for the log and the error line (e.g. "B on seed 7")."""
    out: Path
    spec: dict

    def done(self) -> bool:
        return load_cached_result(self.out, self.spec) is not None


def run_jobs(jobs: list[Job], parallel: int, log=print) -> None:
    """Run the jobs not done yet as worker processes, `parallel` at a time with one torch thread each; a failed one
    raises UserError (the running ones are stopped, the finished results stay)."""
    pending = [job for job in jobs if not job.done()]
    running: list[tuple[subprocess.Popen, Job]] = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        while pending or running:
            while pending and len(running) < max(1, parallel):
                job = pending.pop(0)
                if job.done():  # finished meanwhile by another evaluation sharing the result
                    continue
                log(f"evaluating {job.label}")
                running.append((popen_worker(job.cmd, env=env), job))
            time.sleep(0.5)
            for proc, job in list(running):
                if proc.poll() is not None:
                    running.remove((proc, job))
                    if proc.returncode != 0:
                        raise UserError(f"the evaluation of {job.label} failed (exit code {proc.returncode}); "
                                        f"finished evaluations are kept in {job.out.parent}: run again to resume")
    finally:
        for proc, _ in running:
            proc.terminate()
            proc.wait()
