"""Closed-loop evaluation of policies in the S2E tasks: one library for every evaluation script.

- `results`: file digests, cached results (reused only for the same spec), reading a saved task result;
- `workers`: evaluations in child processes that end with their parent (one in the foreground, or N at a time);
- `models`: which model file an evaluation runs (an AGDM checkpoint, a trained run, or none for a baseline);
- `closed_loop`: driving an env with a policy until every env has run its episodes, the top mode of a model;
- `navbench`: NavBench-GS tasks (spec, resumable episode loop, running a method over tasks);
- `report`: the NavBench-GS results table and bar charts of every method;
- `compare`: paired comparisons of two policy files on the same episodes (compare_policies.py, the held-out check).
"""
