"""NavBench-GS splits: which blocks a benchmark run scores, and where their episode files are.

- `urban` (v1): held-out blocks of the training generator and looks: an in-distribution test. Its files
  are the published ones and do not change.
- `shift`: held-out blocks of the `shift` appearance family (s2e.urban.families): block types, palettes,
  patterns, lighting and haze that no training path draws. The drop from `urban` to `shift` measures how
  much of a policy's score was the training look.

Each split has its own folder of episode files (one per task and robot, fingerprinted) and its own block
seeds, far from each other's and from the seeds training draws.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    name: str
    folder: str
    """The episode files' folder, relative to the project's assets/."""
    family: str
    """Appearance family of the split's procedural blocks."""
    seed_base: int
    """The first block's layout seed; block j has seed_base + j."""
    num_scenes: int = 8
    episodes_per_scene: int = 4


SPLITS: dict[str, Split] = {s.name: s for s in (
    Split("urban", "navbench/v1", "urban", 1_000_000_000),
    Split("shift", "navbench/shift", "shift", 2_000_000_000),
)}
DEFAULT_SPLIT = "urban"
