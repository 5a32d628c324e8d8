"""Drive an S2E-Urban task with an AGDM checkpoint in closed loop and report SR / RC / CT.

    ./isaaclab.sh -p scripts/eval_agdm.py --checkpoint logs/pretrain/agdm/agdm_best.pt --task S2E-Urban-Wheeled \
        --num_envs 8 --mode base --episodes_per_env 2

Each step the policy sees the camera's last k frames and the goal in the robot frame and acts with
its top-scored mode (`--sample` draws from the mixture instead). Episodes are counted as in
run_expert.py; results.json and a top-down map of the episodes go under logs/eval_agdm/<task>/<date_time>/.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from s2e.utils.files import write_json_atomic
from s2e_isaaclab.utils.cli import UserError, add_env_args, make_env, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Wheeled")
    parser.add_argument("--checkpoint", required=True, help="an AGDM checkpoint (agdm.pt)")
    parser.add_argument("--episodes_per_env", type=int, default=1)
    parser.add_argument("--sample", action="store_true", help="sample the mixture instead of taking the top mode")
    parser.add_argument("--log_dir", default="logs/eval_agdm")
    args = parser.parse_args()
    if not args.camera:
        raise UserError("the AGDM policy needs the camera: drop --no-camera")

    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e.urban.topdown import save_topdown_grid

    try:
        model, meta = load_checkpoint(args.checkpoint)
    except CheckpointError as err:
        raise UserError(str(err)) from None
    env, cfg = make_env(args)
    base = env.unwrapped
    cam = cfg.scene.camera
    mcfg = model.cfg
    if (cam.history, (cam.height, cam.width)) != (mcfg.context, tuple(mcfg.image_size)):
        raise UserError(f"checkpoint expects {mcfg.context} frames of {tuple(mcfg.image_size)}, the camera gives "
                        f"{cam.history} of {(cam.height, cam.width)}: set env.scene.camera.history/height/width")
    model = model.to(base.device)
    nav = base.command_manager.get_term("nav")
    num_envs, quota = base.num_envs, args.episodes_per_env
    gen = torch.Generator(device=base.device).manual_seed(args.seed)
    print(f"[eval_agdm] {args.checkpoint} on {args.task}: {num_envs} envs, content={cfg.content}, mode={cfg.control_mode}", flush=True)
    obs, _ = env.reset(seed=args.seed)
    nav.episode_log.clear()
    counted = np.zeros(num_envs, dtype=int)
    kept, history, panels = [], [], []
    episode_start = np.zeros(num_envs, dtype=int)
    t0, last_print, steps = time.time(), 0.0, 0
    while counted.sum() < quota * num_envs:
        with torch.no_grad():
            out = model(obs["camera"]["rgb"], nav.command[:, :2])
            action = out.action("sample" if args.sample else "best", generator=gen)
        history.append(nav.robot_pose_2d()[0].cpu().numpy().copy())  # .cpu() on CPU is no copy: keep a snapshot
        route_before = nav.routes.cpu().numpy().copy()
        obs, _, terminated, truncated, _ = env.step(action)
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
                    ok_text = "success" if batch["success"][list(batch["env"]).index(i)] else "failure"
                    panels.append(dict(layout=nav.layouts[i], route=route_before[i], trajectory=track, title=f"env {i}: {ok_text}"))
        episode_start[done] = len(history)
        if time.time() - last_print > 10.0:
            last_print = time.time()
            finished = int(counted.sum())
            rate = finished / max(last_print - t0, 1e-6)
            eta = (quota * num_envs - finished) / rate if rate > 0 else float("nan")
            print(f"[eval_agdm] {finished}/{quota * num_envs} episodes, {steps} steps, ETA {eta:.0f} s", flush=True)
    records = {k: np.concatenate([r[k] for r in kept]) for k in kept[0]}
    result = {"checkpoint": str(args.checkpoint), "task": args.task, "content": cfg.content, "mode": cfg.control_mode,
              "episodes": int(len(records["success"])), "SR": float(records["success"].mean()),
              "RC": float(records["route_completion"].mean()), "CT": float(records["collisions"].mean()),
              "seed": args.seed, "wall_time_s": time.time() - t0, "per_episode": {k: v.tolist() for k, v in records.items()}}
    out_dir = Path(args.log_dir) / args.task / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    write_json_atomic(out_dir / "results.json", result)
    if panels:
        save_topdown_grid(out_dir / "episodes.png", panels)
    print(f"[eval_agdm] results in {out_dir}")
    print(f"SR {result['SR']:.2f} | RC {result['RC']:.2f} | CT {result['CT']:.2f}  ({result['episodes']} episodes)")
    env.close()


if __name__ == "__main__":
    run_main(main)
