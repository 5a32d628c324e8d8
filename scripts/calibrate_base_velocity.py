"""Fit the fast base-velocity mode's first-order model to the joint-level controller's step response.

    ./isaaclab.sh -p scripts/calibrate_base_velocity.py --robot quadruped
    ./isaaclab.sh -p scripts/calibrate_base_velocity.py --robot wheeled

Runs the joint-level task with velocity steps (forward speeds in half the envs, yaw rates in the
other half), records the measured heading-frame velocity at 10 Hz, fits (tau, gain) per axis by
least squares (s2e.control.first_order), and writes assets/robots/<robot>/base_velocity_model.json,
which the robot's RobotSpec loads.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

from s2e.utils.files import write_json_atomic
from s2e_isaaclab.tasks.urban.mdp.navigation_command import heading_velocity
from s2e_isaaclab.utils.cli import add_env_args, make_env, run_main

TASKS = {"wheeled": "S2E-Urban-Wheeled", "quadruped": "S2E-Urban-Quadruped"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robot", choices=sorted(TASKS), default="quadruped")
    parser.add_argument("--num_envs_per_axis", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--device", default=None, help="cpu or cuda:0 (default: the GPU if there is one)")
    args = parser.parse_args()
    env_parser = argparse.ArgumentParser()
    add_env_args(env_parser)
    n = 2 * args.num_envs_per_axis
    device = ["--device", args.device] if args.device else []
    env_args = env_parser.parse_args(["--task", TASKS[args.robot], "--num_envs", str(n), "--mode", "joint", *device,
                                      "env.terminations.collision=null", "env.terminations.arrived=null",
                                      "env.terminations.left_block=null"])
    env, cfg = make_env(env_args)
    base = env.unwrapped
    term = base.action_manager.get_term("nav")
    spec = cfg.actions.nav.robot
    k = args.num_envs_per_axis
    speeds = np.linspace(0.3, 0.9, k) * spec.max_lin_vel
    rates = np.linspace(0.4, 1.0, k) * spec.max_ang_vel
    step_cmd = torch.zeros(n, 2, device=base.device)
    step_cmd[:k, 0] = torch.as_tensor(speeds, dtype=torch.float)
    step_cmd[k:, 1] = torch.as_tensor(rates, dtype=torch.float)
    env.reset(seed=0)
    steps = int(args.seconds / base.step_dt)
    lead = 5  # policy steps of standing still before the step
    measured, commanded = [], []
    action = torch.zeros(n, 21, device=base.device)
    robot = base.scene["robot"]
    for i in range(lead + steps):
        cmd = step_cmd if i >= lead else torch.zeros_like(step_cmd)
        term.velocity_override = cmd
        env.step(action)
        measured.append(heading_velocity(robot)[:, [0, 2]].cpu().numpy())
        commanded.append(cmd.cpu().numpy())
    measured, commanded = np.stack(measured, 1), np.stack(commanded, 1)  # [E, T, 2]

    from s2e.control.first_order import fit_first_order

    fits = {}
    for axis, rows, name in ((0, slice(0, k), "vx"), (1, slice(k, n), "wz")):
        # One fit over all runs of this axis (each run starts at rest).
        tau, gain, rms = fit_first_order(commanded[rows, :, axis], measured[rows, :, axis], base.step_dt)
        fits[name] = {"tau": tau, "gain": gain, "rms": rms}
        print(f"[calibrate] {args.robot} {name}: tau {tau:.3f} s, gain {gain:.3f}, rms {rms:.3f}", flush=True)
    out = Path(__file__).resolve().parents[1] / f"assets/robots/{spec.name}/base_velocity_model.json"
    record = {
        "tau": [fits["vx"]["tau"], fits["vx"]["tau"], fits["wz"]["tau"]],
        "gain": [fits["vx"]["gain"], fits["vx"]["gain"], fits["wz"]["gain"]],
        "fit": fits,
        "command": f"./isaaclab.sh -p scripts/calibrate_base_velocity.py --robot {args.robot}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "note": "vy uses the vx fit (the navigation action never commands lateral motion)",
    }
    write_json_atomic(out, record)
    print(f"[calibrate] wrote {out}")
    env.close()


if __name__ == "__main__":
    run_main(main)
