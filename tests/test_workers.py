"""Evaluation workers without a simulation: side by side with their own slots and thread counts, saved results
skipped, one line for a failed worker and none after a worker's own bad-input line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from s2e_isaaclab.evaluation.workers import Job, run_jobs

# a worker that records its slot, thread count and start/end times, then writes its result (or exits with CODE)
WORKER = """
import json, os, sys, time
out, spec, code = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
if code:
    print("error: bad input", file=sys.stderr)
    sys.exit(code)
start = time.time()
time.sleep(1.0)
json.dump({"spec": spec, "slot": os.environ["S2E_WORKER_SLOT"], "threads": os.environ["OMP_NUM_THREADS"],
           "start": start, "end": time.time()}, open(out, "w"))
"""


def _job(tmp_path: Path, name: str, code: int = 0) -> Job:
    spec = {"task": name}
    out = tmp_path / f"{name}.json"
    return Job([sys.executable, "-c", WORKER, str(out), json.dumps(spec), str(code)], name, out, spec)


def test_jobs_run_side_by_side_in_their_own_slots_and_saved_ones_are_skipped(tmp_path):
    jobs = [_job(tmp_path, name) for name in "abc"]
    logged = []
    run_jobs(jobs, parallel=2, log=logged.append, threads=3)
    results = {job.label: json.loads(job.out.read_text()) for job in jobs}
    assert {r["threads"] for r in results.values()} == {"3"}
    a, b, c = results["a"], results["b"], results["c"]
    assert {a["slot"], b["slot"]} == {"0", "1"} and a["start"] < b["end"] and b["start"] < a["end"]  # overlapping
    assert c["start"] >= min(a["end"], b["end"])  # the third waits for a free slot
    assert logged == ["evaluating a", "evaluating b", "evaluating c"]
    before = time.time()
    run_jobs(jobs, parallel=2, log=logged.append)
    assert time.time() - before < 0.5 and len(logged) == 3  # every result is saved for its spec: nothing runs


def test_a_failed_worker_ends_the_run_with_its_code_and_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run_jobs([_job(tmp_path, "broken", code=3), _job(tmp_path, "fine")], parallel=2)
    assert stop.value.code == 3
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: the evaluation of broken failed (exit code 3, its error is above); finished evaluations are kept in "
        f"{tmp_path}: run the same command again to resume")


def test_a_workers_bad_input_line_is_the_last_word(tmp_path, capfd):
    with pytest.raises(SystemExit) as stop:
        run_jobs([_job(tmp_path, "bad", code=2)], parallel=1)
    assert stop.value.code == 2
    assert capfd.readouterr().err.strip().splitlines()[-1] == "error: bad input"
