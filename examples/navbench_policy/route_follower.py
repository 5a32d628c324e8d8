"""An example NavBench-GS policy that imports nothing from this project: a blind route follower.

It aims its waypoints at the route-guidance point and drives at a fixed speed, slowing down in turns
(or, with output="velocity", commands the body's speed and yaw rate directly).
It shows the policy contract (docs/navbench.md#enter-your-own-policy): a factory returns an object with a
`spec` mapping and `__call__(observation) -> action` over NumPy arrays. Evaluate it in-process:

    ./isaaclab.sh -p scripts/eval_navbench.py --method policy \
        --policy examples.navbench_policy.route_follower:make_policy

or from another process (any Python with numpy, msgpack and websockets) through serve.py beside this file.
"""

from __future__ import annotations

import numpy as np


class RouteFollower:
    def __init__(self, speed: float = 0.8, image_size=(48, 64), hfov_deg: float = 100.0, context: int = 2,
                 output: str = "waypoints"):
        self.speed = float(speed)
        self.spec = {"image_size": list(image_size), "hfov_deg": hfov_deg, "context": context,
                     "num_waypoints": 8, "waypoint_dt": 0.25, "output": output}

    def __call__(self, observation: dict) -> dict:
        rgb, target = observation["rgb"], np.asarray(observation["route_point"], dtype=np.float32)
        h, w = self.spec["image_size"]
        assert rgb.shape[1:] == (self.spec["context"], h, w, 3) and rgb.dtype == np.uint8, rgb.shape
        heading = np.arctan2(target[:, 1], target[:, 0])
        speed = self.speed * np.clip(np.cos(heading), 0.2, 1.0)  # slow down in turns
        if self.spec["output"] == "velocity":  # turn towards the point within a second
            return {"velocity": np.stack([speed, heading], axis=1).astype(np.float32)}
        t = self.spec["waypoint_dt"] * np.arange(1, self.spec["num_waypoints"] + 1, dtype=np.float32)
        direction = target / np.maximum(np.linalg.norm(target, axis=1, keepdims=True), 1e-6)
        waypoints = direction[:, None, :] * (speed[:, None] * t[None, :])[..., None]
        return {"waypoints": waypoints.astype(np.float32)}


def make_policy(**kwargs) -> RouteFollower:
    return RouteFollower(**kwargs)
