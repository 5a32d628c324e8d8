"""Evaluations in child processes (Isaac Lab runs one simulation per process) that never outlive their parent.

`run_jobs` runs the evaluations that are not saved yet as worker processes, N at a time with a share of
the cores each. Every worker starts through s2e.utils.processes.popen_worker: it gets SIGTERM when this
process dies, by kill -9 too. SIGINT / SIGTERM / SIGHUP caught meanwhile are passed on to the running
workers; an interrupted or failed evaluation ends this process with one line saying what is kept (a
worker's finished episodes, the finished evaluations) and that running the same command again resumes.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from s2e.utils.processes import popen_worker

from .results import load_cached_result

WORKER_SLOT = "S2E_WORKER_SLOT"
"""Environment variable giving each running worker its slot 0..N-1 (e.g. the line of its progress bar)."""

USER_ERROR_CODE = 2
"""A worker's exit code for bad input: it printed its own one-line error."""


def worker_slot() -> int:
    """This worker's slot among the evaluations running side by side (0 outside run_jobs)."""
    return int(os.environ.get(WORKER_SLOT, "0"))


@dataclass
class Job:
    """One evaluation for `run_jobs`: the worker command `cmd` writes the result for `spec` to `out`."""

    cmd: list[str]
    label: str
    """What is evaluated, for the log and the error line (e.g. "B on seed 7")."""
    out: Path
    spec: dict
    partial: Path | None = None
    """Where the worker keeps its finished episodes until `out` is written (None: it keeps none)."""

    def done(self) -> bool:
        return load_cached_result(self.out, self.spec) is not None

    def kept(self) -> str:
        """What an interruption keeps of this evaluation, for the error line."""
        if self.partial is None:
            return f"finished evaluations are kept in {self.out.parent}"
        if self.partial.is_file():
            return f"the finished episodes are kept in {self.partial}"
        return "no episode had finished"


def _stop(running: dict) -> None:
    for proc in running:
        if proc.poll() is None:
            proc.terminate()
    for proc in running:
        proc.wait()


def _fail(line: str, code: int) -> None:
    print(file=sys.stderr)  # end the workers' progress bar lines
    print(f"error: {line}: run the same command again to resume", file=sys.stderr, flush=True)
    sys.exit(code)


def run_jobs(jobs: list[Job], parallel: int = 1, log=print, threads: int = 1) -> None:
    """Run the jobs not done yet as worker processes, `parallel` at a time with `threads` torch threads each, and
    wait for them. A signal caught meanwhile is passed on to the running workers and ends this process with
    128 + its number; a worker killed by a signal stops the others and ends it with 1, one that failed stops them
    and ends it with its exit code (with no line of ours after a bad-input error: the worker printed it)."""
    pending = [job for job in jobs if not job.done()]
    running: dict = {}  # proc -> (job, slot)
    caught: list[int] = []

    def forward(signum, _frame):
        caught.append(signum)
        for proc in running:
            if proc.poll() is None:
                proc.send_signal(signum)

    handlers = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        while (pending or running) and not caught:
            while pending and len(running) < max(1, parallel):
                job = pending.pop(0)
                if job.done():  # finished meanwhile by another evaluation sharing the result
                    continue
                slot = min(set(range(parallel + 1)) - {s for _, s in running.values()})
                log(f"evaluating {job.label}")
                env = {**os.environ, "OMP_NUM_THREADS": str(threads), WORKER_SLOT: str(slot)}
                running[popen_worker(job.cmd, env=env)] = (job, slot)
            time.sleep(0.5)
            for proc, (job, _) in list(running.items()):
                code = proc.poll()
                if code is None or caught:
                    continue
                del running[proc]
                if code == 0:
                    continue
                _stop(running)
                if code < 0:
                    _fail(f"the worker evaluating {job.label} was killed by {signal.Signals(-code).name}; {job.kept()}",
                          1)
                if code != USER_ERROR_CODE:
                    _fail(f"the evaluation of {job.label} failed (exit code {code}, its error is above); {job.kept()}",
                          code)
                sys.exit(code)
        if caught:
            interrupted = list(running.values())
            for proc in running:
                proc.wait()
            labels = " and ".join(job.label for job, _ in interrupted) or "the evaluations"
            kept = "; ".join(dict.fromkeys(job.kept() for job, _ in interrupted)) or "finished evaluations are kept"
            _fail(f"interrupted by {signal.Signals(caught[0]).name} while evaluating {labels}; {kept}", 128 + caught[0])
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        _stop(running)
