"""Env-steps per second of the S2E-Urban tasks per robot, control mode and env count.

    ./isaaclab.sh -p scripts/benchmark_env.py                      # wheeled + quadruped, joint + base, 1/16/64 envs
    ./isaaclab.sh -p scripts/benchmark_env.py --num_envs 1 16 --robots wheeled --steps 20

The default suite is configs/benchmark_env.yaml. Each configuration runs in its own process (Isaac Lab holds one
simulation per process): build the env, warm up, then time `--steps` policy steps (10 Hz) of a straight-ahead waypoint
action and a reset of every env at once. Prints a table with the base/joint speed-up measured in the same run, and
writes benchmark_env.json (with each configuration's start-up, reset time and peak memory).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from s2e.utils.files import write_json_atomic
from s2e.utils.machine import describe_machine

TASKS = {"wheeled": "S2E-Urban-Wheeled", "quadruped": "S2E-Urban-Quadruped"}
SUITE = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs/benchmark_env.yaml").read_text())


def run_single(args: argparse.Namespace) -> None:
    import torch

    from s2e_isaaclab.utils.cli import add_env_args, make_env

    parser = argparse.ArgumentParser()
    add_env_args(parser)
    env_args = parser.parse_args(["--task", TASKS[args.robots[0]], "--num_envs", str(args.num_envs[0]), "--mode",
                                  args.modes[0],
                                  "--device", args.device, "--camera" if args.camera else "--no-camera",
                                  "env.terminations.collision=null", "env.terminations.arrived=null", *args.overrides])

    t_build = time.time()
    env, _ = make_env(env_args)
    base = env.unwrapped
    env.reset(seed=0)
    build_s = time.time() - t_build
    action = torch.zeros(base.num_envs, 21, device=base.device)
    action[:, 0:20:2] = torch.arange(1.0, 11.0, device=base.device)
    action[:, 20] = 0.6
    for _ in range(args.warmup):
        env.step(action)
    t0 = time.time()
    for _ in range(args.steps):
        env.step(action)
    elapsed = time.time() - t0
    all_ids = torch.arange(base.num_envs, device=base.device)
    t_reset = time.time()
    for _ in range(3):  # every env starts a new episode at once: the episode draw, robot writes, crowd, managers
        base._reset_idx(all_ids)
    reset_ms = 1000 * (time.time() - t_reset) / 3
    import resource

    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB
    print("BENCH " + json.dumps({"robot": args.robots[0], "mode": args.modes[0], "num_envs": base.num_envs,
                                 "env_steps_per_s": args.steps * base.num_envs / elapsed,
                                 "ms_per_step": 1000 * elapsed / args.steps, "startup_s": build_s,
                                 "reset_all_ms": reset_ms, "peak_rss_gib": peak_gib}), flush=True)
    env.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--robots", nargs="+", choices=sorted(TASKS), default=SUITE["robots"])
    parser.add_argument("--modes", nargs="+", choices=("joint", "base"), default=SUITE["modes"])
    parser.add_argument("--num_envs", nargs="+", type=int, default=SUITE["num_envs"])
    parser.add_argument("--steps", type=int, default=SUITE["steps"])
    parser.add_argument("--warmup", type=int, default=SUITE["warmup"])
    parser.add_argument("--device", default=None, help="cpu or cuda:0 (default: the GPU if there is one)")
    parser.add_argument("--camera", action="store_true",
                        help="also render the Gaussian-splat camera every step (default: physics only)")
    parser.add_argument("--out", default="logs/benchmark/benchmark_env.json")
    parser.add_argument("overrides", nargs="*",
                        help="Hydra overrides of the env (env.*), e.g. env.scene.terrain.scene_bundle=<folder>")
    parser.add_argument("--single", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device is None:
        from s2e_isaaclab.paths import default_device

        args.device = default_device()
    if args.single:
        run_single(args)
        return
    results = []
    configs = [(r, m, n) for r in args.robots for n in args.num_envs for m in args.modes]
    t0 = time.time()
    for k, (robot, mode, n) in enumerate(configs):
        cmd = [sys.executable, __file__, "--single", "--robots", robot, "--modes", mode, "--num_envs", str(n),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--device", args.device]
        cmd += (["--camera"] if args.camera else []) + args.overrides
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("BENCH ")), None)
        if line is None:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            print(f"[bench] {robot}/{mode}/{n} envs failed: {tail[0]}", flush=True)
            continue
        results.append(json.loads(line[6:]))
        r = results[-1]
        done = k + 1
        eta = (time.time() - t0) / done * (len(configs) - done)
        print(f"[bench] {done}/{len(configs)} {robot:9s} {mode:5s} {n:3d} envs: {r['env_steps_per_s']:8.1f} "
              f"env-steps/s, start-up {r['startup_s']:.1f} s, reset of all envs {r['reset_all_ms']:.0f} ms, peak "
              f"memory {r['peak_rss_gib']:.2f} GiB  (ETA {eta:.0f} s)", flush=True)
    info = {"machine": describe_machine(), "device": args.device, "command": " ".join(sys.argv), "results": results}
    out = write_json_atomic(args.out, info)
    print(f"\nS2E-Urban env-steps/s on {info['machine']} ({args.device}), policy at 10 Hz")
    print("| robot | envs | joint-level | base-velocity | base / joint |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for robot in args.robots:
        for n in args.num_envs:
            by_mode = {r["mode"]: r["env_steps_per_s"] for r in results if r["robot"] == robot and r["num_envs"] == n}
            j, b = by_mode.get("joint"), by_mode.get("base")
            ratio = f"{b / j:.1f}x" if j and b else "-"
            fmt = lambda v: f"{v:.1f}" if v else "-"  # noqa: E731
            print(f"| {robot} | {n} | {fmt(j)} | {fmt(b)} | {ratio} |")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
