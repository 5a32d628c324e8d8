"""Drive an S2E-Urban task with the scripted expert and report SR / RC / CT.

    ./isaaclab.sh -p scripts/run_expert.py --task S2E-Urban-Quadruped --num_envs 4 --headless

Runs --episodes_per_env episodes in every env (episodes an env finishes beyond its quota are not
counted, so short episodes are not over-represented), prints progress with an ETA,
then the success rate (SR), mean route completion (RC) and collisions per episode (CT), and saves
results.json and a top-down map of the episodes under logs/expert/<task>/<date_time>/.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from s2e.utils.files import write_json_atomic
from s2e_isaaclab.utils.cli import add_env_args, make_env, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted expert on an S2E-Urban task: SR / RC / CT.")
    add_env_args(parser)
    parser.add_argument("--episodes_per_env", type=int, default=1)
    parser.add_argument("--no_pedestrian_avoidance", action="store_true", help="blind to pedestrians, like passive video")
    parser.add_argument("--log_dir", default="logs/expert")
    args = parser.parse_args()
    env, cfg = make_env(args)

    from s2e.nav.expert import ExpertCfg, ScriptedExpert
    from s2e.urban.topdown import save_topdown_grid

    base = env.unwrapped
    nav = base.command_manager.get_term("nav")
    action_term = base.action_manager.get_term("nav")
    expert = ScriptedExpert(ExpertCfg(avoid_pedestrians=not args.no_pedestrian_avoidance, speed=0.8 * nav.spec.max_lin_vel),
                            action_term.ctrl, nav.spec.radius, cfg.commands.nav.pedestrians.radius)
    num_envs = base.num_envs
    quota = args.episodes_per_env
    target = quota * num_envs
    tile = nav.layouts[0].size
    print(f"[expert] {args.task}: {num_envs} envs, content={cfg.content}, mode={cfg.control_mode}, target {target} episodes", flush=True)

    env.reset(seed=args.seed)
    nav.episode_log.clear()
    counted = np.zeros(num_envs, dtype=int)
    kept: list[dict[str, np.ndarray]] = []
    history: list[np.ndarray] = []  # robot xy of every env, one [E, 2] array per step
    episode_start = np.zeros(num_envs, dtype=int)
    panels: list[dict] = []
    t0, last_print, steps = time.time(), 0.0, 0
    while counted.sum() < target:
        xy, yaw = nav.robot_pose_2d()
        state = nav.refresh()
        action = expert.act(xy, yaw, nav.routes, state.progress, nav.footprints, nav.footprint_valid, nav.clearance, tile,
                            nav.crowd.pos, nav.crowd.vel, nav.crowd.active)
        history.append(xy.cpu().numpy())
        route_before = nav.routes.clone().cpu().numpy()
        _, _, terminated, truncated, _ = env.step(action)
        steps += 1
        done = (terminated | truncated).cpu().numpy()
        while nav.episode_log:
            batch = nav.episode_log.popleft()
            keep = np.array([counted[e] < quota for e in batch["env"]], dtype=bool)
            counted[batch["env"][keep]] += 1
            kept.append({k: v[keep] for k, v in batch.items()})
            for i, ok in zip(batch["env"], keep):
                if ok and len(panels) < 8:
                    track = np.stack(history[episode_start[i]:])[:, i]
                    panels.append(dict(layout=nav.layouts[i], route=route_before[i], trajectory=track, title=f"env {i}"))
        episode_start[done] = len(history)
        finished = int(counted.sum())
        now = time.time()
        if now - last_print > 10.0:
            last_print = now
            rate = finished / max(now - t0, 1e-6)
            eta = (target - finished) / rate if rate > 0 else float("nan")
            print(f"[expert] {finished}/{target} episodes, {steps} steps, {steps * num_envs / (now - t0):.1f} env-steps/s, ETA {eta:.0f} s", flush=True)

    records = {k: np.concatenate([r[k] for r in kept]) for k in kept[0]}
    sr = float(records["success"].mean())
    rc = float(records["route_completion"].mean())
    ct = float(records["collisions"].mean())
    wall = time.time() - t0
    out = Path(args.log_dir) / args.task / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    out.mkdir(parents=True, exist_ok=True)
    result = {"task": args.task, "content": cfg.content, "mode": cfg.control_mode, "num_envs": num_envs, "episodes": int(len(records["success"])),
              "SR": sr, "RC": rc, "CT": ct, "wall_time_s": wall, "env_steps": steps * num_envs, "seed": args.seed,
              "per_episode": {k: v.tolist() for k, v in records.items()}}
    write_json_atomic(out / "results.json", result)
    if panels:
        save_topdown_grid(out / "episodes.png", panels)
    print(f"[expert] results in {out}")
    print(f"SR {sr:.2f} | RC {rc:.2f} | CT {ct:.2f}  ({result['episodes']} episodes, {wall:.0f} s)")
    env.close()


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    run_main(main)
