"""The NavBench-GS policy contract: how any navigation policy enters the benchmark (docs/navbench.md).

A policy declares what it sees and how it acts (`PolicySpec`, a plain mapping such as
`{"image_size": [64, 64], "hfov_deg": 90, "context": 4, "output": "waypoints"}`); the camera then renders
at that size and field of view. At every control step (10 Hz) it gets one batch over the envs, a mapping
of NumPy arrays (OBSERVATION_KEYS), and returns a mapping (ACTION_KEYS):

- `waypoints` [E, N, 2], robot frame (x forward, y left), the i-th waypoint (i + 1) * waypoint_dt seconds ahead:
  metres, or with `speed_scale` [E] in units of speed_scale * waypoint_dt metres (AGDM's normalized form);
- or `velocity` [E, 2]: the body's forward speed (m/s) and yaw rate (rad/s).

Two ways in: a Python factory returning an object with `spec` and `__call__(observation) -> action`
(`load_factory("my_pkg.my_module:make_policy")`), or a policy server in another process, spoken to over
a WebSocket (`PolicyClient`): on connecting the server sends its spec, then each observation message is
answered by one action message. Messages are MessagePack maps; an array is the map
`{"__ndarray__": true, "dtype": "<u1", "shape": [...], "data": <raw little-endian bytes>}`.
Nothing here needs PyTorch or Isaac Lab, so the other side needs only msgpack, numpy and a WebSocket.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

OBSERVATION_KEYS = {
    "rgb": "uint8 [E, k, H, W, 3]: the last k camera frames, oldest first (after a reset all are the first frame)",
    "goal": "float32 [E, 2]: the episode's goal in the robot frame (m)",
    "route_point": "float32 [E, 2]: route guidance, the point on the reference route a look-ahead further on (m)",
    "velocity": "float32 [E, 3]: the robot's forward and lateral speed (m/s) and yaw rate (rad/s)",
    "reset": "bool [E]: the envs whose episode began with this observation",
}
ACTION_KEYS = ("waypoints", "speed_scale", "velocity")
OUTPUTS = ("waypoints", "velocity")


class ContractError(ValueError):
    """A policy that does not keep the contract: one line naming what is wrong and what the contract wants."""


@dataclass(frozen=True)
class PolicySpec:
    image_size: tuple[int, int] = (64, 64)
    """(height, width) of the frames the policy wants."""
    hfov_deg: float = 90.0
    context: int = 4
    """Frames per observation (k)."""
    num_waypoints: int = 10
    waypoint_dt: float = 0.25
    """Seconds between consecutive waypoints (output "waypoints")."""
    output: str = "waypoints"

    @classmethod
    def from_mapping(cls, raw: Any) -> PolicySpec:
        """The spec from a policy's mapping (missing keys take the defaults); ContractError on a bad one."""
        if not isinstance(raw, dict):
            raise ContractError(f"a policy's spec must be a mapping such as {{'image_size': [64, 64]}}, got "
                                f"{type(raw).__name__}")
        unknown = sorted(set(raw) - set(cls.__dataclass_fields__))
        if unknown:
            raise ContractError(f"unknown spec keys {unknown}: a spec has {', '.join(cls.__dataclass_fields__)}")
        try:
            size = tuple(int(v) for v in raw.get("image_size", cls.image_size))
            spec = cls(image_size=size, hfov_deg=float(raw.get("hfov_deg", cls.hfov_deg)),
                       context=int(raw.get("context", cls.context)),
                       num_waypoints=int(raw.get("num_waypoints", cls.num_waypoints)),
                       waypoint_dt=float(raw.get("waypoint_dt", cls.waypoint_dt)),
                       output=str(raw.get("output", cls.output)))
        except (TypeError, ValueError) as err:
            raise ContractError(f"a spec value is not a number ({err})") from None
        if len(size) != 2 or min(size) < 8 or max(size) > 1024:
            raise ContractError(f"image_size {list(size)}: give [height, width], each 8 to 1024 pixels")
        if not 10.0 <= spec.hfov_deg <= 170.0:
            raise ContractError(f"hfov_deg {spec.hfov_deg}: the horizontal field of view must be 10 to 170 degrees")
        if not 1 <= spec.context <= 16:
            raise ContractError(f"context {spec.context}: ask for 1 to 16 frames")
        if spec.output not in OUTPUTS:
            raise ContractError(f"output {spec.output!r}: choose one of {', '.join(OUTPUTS)}")
        if not 3 <= spec.num_waypoints <= 64 or not 0.05 <= spec.waypoint_dt <= 2.0:
            raise ContractError(f"num_waypoints {spec.num_waypoints} / waypoint_dt {spec.waypoint_dt}: 3 to 64 "
                                "waypoints, 0.05 to 2 s apart (the controller aims at the third)")
        return spec

    def to_mapping(self) -> dict:
        return {"image_size": list(self.image_size), "hfov_deg": self.hfov_deg, "context": self.context,
                "num_waypoints": self.num_waypoints, "waypoint_dt": self.waypoint_dt, "output": self.output}


def check_action(action: Any, spec: PolicySpec, num_envs: int) -> dict[str, np.ndarray]:
    """The policy's answer as float32 arrays of the declared output; ContractError naming what is off."""
    if not isinstance(action, dict):
        raise ContractError(f"a policy must return a mapping with {' or '.join(OUTPUTS)}, got {type(action).__name__}")
    unknown = sorted(set(action) - set(ACTION_KEYS))
    if unknown:
        raise ContractError(f"unknown action keys {unknown}: an action has {', '.join(ACTION_KEYS)}")
    shapes = {"waypoints": (num_envs, spec.num_waypoints, 2), "speed_scale": (num_envs,), "velocity": (num_envs, 2)}
    wanted = ("waypoints", "speed_scale") if spec.output == "waypoints" else ("velocity",)
    if spec.output not in action:
        raise ContractError(f"the spec declares output {spec.output!r} but the action has {sorted(action)}")
    out = {}
    for key, value in action.items():
        if key not in wanted:
            raise ContractError(f"action key {key!r} does not go with output {spec.output!r}")
        arr = np.asarray(value, dtype=np.float32)
        if arr.shape != shapes[key]:
            raise ContractError(f"action {key!r} has shape {list(arr.shape)}, the contract wants {list(shapes[key])}")
        if not np.isfinite(arr).all():
            raise ContractError(f"action {key!r} holds NaN or infinite values")
        out[key] = arr
    return out


def load_factory(target: str, **kwargs):
    """The policy made by `module:function` (called with `kwargs`; the module importable from PYTHONPATH or the
    current folder): an object with `spec` and `__call__`."""
    import os
    import sys

    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ContractError(f"--policy {target!r}: write it as package.module:function")
    if os.getcwd() not in sys.path:  # as `python -m` does: modules in the current folder can be named
        sys.path.insert(0, os.getcwd())
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ContractError(f"--policy {target!r} cannot be loaded ({type(err).__name__}: {err}): is the module on "
                            "PYTHONPATH?") from None
    policy = factory(**kwargs)
    if not callable(policy) or not hasattr(policy, "spec"):
        raise ContractError(f"--policy {target!r} returned {type(policy).__name__}: the factory must return an object "
                            "with a `spec` mapping and a `__call__(observation) -> action`")
    return policy


def _encode(obj):
    if isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        return {"__ndarray__": True, "dtype": arr.dtype.newbyteorder("<").str, "shape": list(arr.shape),
                "data": arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()}
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot send {type(obj).__name__}")


def _decode(obj):
    if obj.get("__ndarray__"):
        return np.frombuffer(obj["data"], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
    return obj


def pack(message: dict) -> bytes:
    """A message as MessagePack bytes (arrays in the module docstring's form)."""
    import msgpack

    return msgpack.packb(message, default=_encode, use_bin_type=True)


def unpack(data: bytes) -> dict:
    import msgpack

    return msgpack.unpackb(data, object_hook=_decode, raw=False)


class PolicyClient:
    """A policy served by another process at `url` (ws://host:port), used like an in-process one."""

    def __init__(self, url: str, timeout_s: float = 60.0):
        from websockets.sync.client import connect

        self.url, self.timeout_s = url, timeout_s
        try:
            self._ws = connect(url, open_timeout=timeout_s, max_size=None)
            self.spec = unpack(self._ws.recv(timeout=timeout_s))
        except (OSError, TimeoutError) as err:
            raise ContractError(f"no policy server answers at {url} ({type(err).__name__}: {err}): "
                                "start it first") from None

    def __call__(self, observation: dict) -> dict:
        from websockets.exceptions import ConnectionClosed

        try:
            self._ws.send(pack(observation))
            return unpack(self._ws.recv(timeout=self.timeout_s))
        except (ConnectionClosed, TimeoutError) as err:
            raise ContractError(f"the policy server at {self.url} stopped answering ({type(err).__name__})") from None

    def close(self) -> None:
        self._ws.close()
