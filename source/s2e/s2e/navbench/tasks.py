"""NavBench-GS's four tasks and the scene content of each, and its two robots: the one list every script, report and
config reads."""

from __future__ import annotations

TASK_CONTENT = {"Empty": "empty", "Obstacle": "obstacles", "Pedestrian": "pedestrians", "Mixed": "mixed"}
"""Task name -> the S2E-Urban scene content it runs (static obstacles, walking pedestrians, both or none)."""
TASKS = tuple(TASK_CONTENT)
ROBOTS = ("wheeled", "quadruped")
"""The robots, as the scripts' --robot names them (the task ids capitalize them: NavBench-GS-Empty-Wheeled)."""
