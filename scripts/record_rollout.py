"""Record an mp4 of a robot driving through an S2E-Urban block: its Gaussian-splat camera beside a
top-down map with the obstacles, the pedestrians and the route.

    ./isaaclab.sh -p scripts/record_rollout.py --task S2E-Urban-Wheeled --content mixed --mode base --seconds 40

The scripted expert drives (as in run_expert.py); env `--env` is filmed. The first-person panel is
the robot's own camera rendered at `--view_size` (the policy sees the same view at the sensor's
resolution, shown small in the corner). Writes <log_dir>/<task>/<date_time>/rollout.mp4 and a
PNG of one frame.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from pathlib import Path

import torch

from s2e_isaaclab.utils.cli import UserError, add_env_args, make_env, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Wheeled")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the video (simulated time)")
    parser.add_argument("--env", type=int, default=0, help="which env to film")
    parser.add_argument("--view_size", type=int, default=256, help="height of the first-person panel (px)")
    parser.add_argument("--log_dir", default="logs/videos")
    args = parser.parse_args()
    if not args.camera:
        raise UserError("record_rollout.py films the camera: drop --no-camera")
    env, cfg = make_env(args)

    from s2e.utils.video import Mp4Writer
    from s2e_isaaclab.utils.nav_policies import scripted_expert
    from s2e_isaaclab.utils.rollout_video import RolloutFilm

    base = env.unwrapped
    try:
        film = RolloutFilm(base, args.env, args.view_size, label=args.task)
    except ValueError as err:
        raise UserError(str(err)) from None
    nav = film.nav
    expert = scripted_expert(env, avoid_pedestrians=True, speed_fraction=0.8)
    out = Path(args.log_dir) / args.task / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    steps = int(args.seconds / base.step_dt)
    env.reset(seed=args.seed)
    t0 = time.time()
    print(f"[record] {args.task}: env {args.env} of {base.num_envs}, content={cfg.content}, mode={cfg.control_mode}, "
          f"{steps} steps", flush=True)
    with Mp4Writer(out / "rollout.mp4", fps=1.0 / base.step_dt) as video:
        for step in range(steps):
            frame = film.frame()
            video.append(frame)
            if step == steps // 2:
                import imageio.v2 as imageio

                imageio.imwrite(out / "frame.png", frame)
            xy, yaw = nav.robot_pose_2d()
            action = expert.act(xy, yaw, nav.routes, nav.refresh().progress, nav.footprints, nav.footprint_valid,
                                nav.clearance, nav.layouts[0].size, nav.crowd.pos, nav.crowd.vel, nav.crowd.active)
            _, _, terminated, truncated, _ = env.step(action)
            film.after_step(terminated, truncated)
            if step % 50 == 0:
                rate = (step + 1) / (time.time() - t0)
                print(f"[record] {step + 1}/{steps} frames, {rate:.1f} frames/s, ETA {(steps - step - 1) / rate:.0f} s",
                      flush=True)
    film.close()
    print(f"[record] wrote {out / 'rollout.mp4'} ({steps} frames)")
    env.close()


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    run_main(main)
