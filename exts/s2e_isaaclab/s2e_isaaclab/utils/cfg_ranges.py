"""Numeric settings that have a valid range, checked once the overrides are applied and before the env is built.

A value out of range reaches rsl-rl, torch or the simulation otherwise, and ends the run later in a traceback
(a negative learning rate in torch's optimizer, a discount above 1 in the returns, a zero image size in the
camera). Each row names a setting by its override path (agent.* or env.*), its bounds and whether it must be
an integer; settings a task does not have are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    path: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    """True: the value must be above `low`; False: at least `low`."""
    high_open: bool = False
    integer: bool = False
    optional: bool = False
    """None is allowed (e.g. desired_kl: no adaptive schedule)."""

    def text(self) -> str:
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low:g}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high:g}"
        kind = "an integer" if self.integer else "a number"
        return f"{kind} {' and '.join(t for t in (lo, hi) if t)}".strip()


RANGES = (
    # PPO (rsl-rl's algorithm settings)
    Range("agent.algorithm.learning_rate", 0, low_open=True),
    Range("agent.algorithm.gamma", 0, 1, low_open=True),
    Range("agent.algorithm.lam", 0, 1),
    Range("agent.algorithm.clip_param", 0, low_open=True),
    Range("agent.algorithm.value_loss_coef", 0),
    Range("agent.algorithm.entropy_coef", 0),
    Range("agent.algorithm.max_grad_norm", 0, low_open=True),
    Range("agent.algorithm.desired_kl", 0, low_open=True, optional=True),
    Range("agent.algorithm.num_learning_epochs", 1, integer=True),
    Range("agent.algorithm.num_mini_batches", 1, integer=True),
    # the runner
    Range("agent.num_steps_per_env", 1, integer=True),
    Range("agent.max_iterations", 1, integer=True),
    Range("agent.save_interval", 1, integer=True),
    # the env
    Range("env.episode_length_s", 0, low_open=True),
    Range("env.decimation", 1, integer=True),
    Range("env.sim.dt", 0, low_open=True),
    Range("env.scene.num_envs", 1, integer=True),
    Range("env.scene.camera.width", 8, integer=True),
    Range("env.scene.camera.height", 8, integer=True),
    Range("env.scene.camera.history", 1, integer=True),
    Range("env.scene.camera.update_period", 0),
)


def _get(root, path: str):
    obj = root
    for name in path.split(".")[1:]:
        if obj is None or not hasattr(obj, name):
            return _MISSING
        obj = getattr(obj, name)
    return obj


_MISSING = object()


def range_problem(env_cfg, agent_cfg=None) -> str | None:
    """The first setting out of its range, as one line naming it, its value and the range (None: all in range)."""
    for r in RANGES:
        root = agent_cfg if r.path.startswith("agent.") else env_cfg
        value = _get(root, r.path) if root is not None else _MISSING
        if value is _MISSING or (value is None and r.optional):
            continue
        bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
        bad = bad or (r.integer and not float(value).is_integer())
        if not bad and r.low is not None:
            bad = value <= r.low if r.low_open else value < r.low
        if not bad and r.high is not None:
            bad = value >= r.high if r.high_open else value > r.high
        if bad:
            return f"{r.path}={value!r}: out of range, it takes {r.text()}"
    return None
