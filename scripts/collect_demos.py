"""Collect demonstration videos from an S2E-Urban task in the GNM/ViNT dataset format.

    ./isaaclab.sh -p scripts/collect_demos.py --task S2E-Urban-Wheeled --num_envs 16 --content empty --frames 20000 \
        --seed 1 --perturb_prob 0.01 --out logs/demos/wheeled_empty env.commands.nav.route.start_yaw_noise=1.0

(the default --out is logs/demos/<task>; configs/pretrain/agdm.yaml reads logs/demos/wheeled_empty and
wheeled_obstacles, made as in docs/pretraining.md; --append adds a run with another seed or content to an
existing dataset).

The scripted expert drives every env; like passive video it does not react to pedestrians. Every
env step, each env's newest Gaussian-splat camera frame and its robot pose (x, y, yaw in the env's
tile frame) at that same instant are appended to the env's current trajectory. When an episode ends
its trajectory is written as `<out>/traj_<seed>_<env>_<n>/` holding 0.jpg ... and traj_data.pkl
(position [T, 2], yaw [T]; plus success/collisions) by s2e.pretrain.dataset_writer (atomically: a
killed run never leaves half a trajectory). Episodes with a collision are dropped
unless --keep_collisions. `--perturb_prob` makes the expert veer off now and then
(s2e.nav.perturbation) so the data shows recoveries (with --policy CHECKPOINT the bursts are driven
by that AGDM policy instead: DAgger-style data from the states it drifts into); traj_data.pkl's
`expert_action` [T] marks the frames whose action was the expert's own, and the reader takes labels
only from those. Collection stops once --frames frames are kept; the episodes still running then
are written as (truncated) trajectories if they are long enough; Ctrl-C stops early and keeps the
finished ones. `<out>/dataset.yaml` records frame_dt (the env step) and how the data
was made (updated every 30 s); `s2e.pretrain.dataset.GNMDataset` reads it.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from s2e.pretrain.dataset import DatasetError, DatasetMeta
from s2e.pretrain.dataset_writer import DatasetWriter, FolderNotEmptyError, prepare_folder, write_meta
from s2e_isaaclab.utils.cli import UserError, add_env_args, make_env, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Wheeled")
    parser.set_defaults(mode="base")
    parser.add_argument("--frames", type=int, default=10000, help="total frames to keep (over all trajectories)")
    parser.add_argument("--out", default=None, help="dataset folder (default: logs/demos/<task>)")
    parser.add_argument("--min_episode_frames", type=int, default=20, help="drop trajectories shorter than this")
    parser.add_argument("--keep_collisions", action="store_true",
                        help="keep episodes with a collision (dropped by default)")
    parser.add_argument("--append", action="store_true", help="add trajectories to an existing dataset folder")
    parser.add_argument("--jpeg_quality", type=int, default=95, help="JPEG quality of the frames (1-95)")
    parser.add_argument("--perturb_prob", type=float, default=0.0,
                        help="per-step probability that the expert's waypoints are rotated for a short burst (recovery "
                             "data)")
    parser.add_argument("--perturb_steps", type=int, default=6, help="steps per perturbation burst")
    parser.add_argument("--perturb_angle", type=float, default=0.6, help="largest waypoint rotation of a burst (rad)")
    parser.add_argument("--policy", default=None, help="an AGDM checkpoint that drives the perturbation bursts instead")
    args = parser.parse_args()
    if not args.camera:
        raise UserError("collect_demos.py records the camera: drop --no-camera")
    if args.frames < 1 or args.min_episode_frames < 1:
        raise UserError("--frames and --min_episode_frames must be >= 1")
    if not 1 <= args.jpeg_quality <= 100:
        raise UserError(f"--jpeg_quality {args.jpeg_quality}: expected 1-100")
    if not 0.0 <= args.perturb_prob <= 1.0 or args.perturb_steps < 1 or args.perturb_angle < 0.0:
        raise UserError("--perturb_prob must be in [0, 1], --perturb_steps >= 1 and --perturb_angle >= 0")
    out = Path(args.out) if args.out else Path("logs/demos") / args.task
    try:
        existing = prepare_folder(out, args.append)
    except FolderNotEmptyError as err:
        raise UserError(f"--out {err}: choose a new folder or pass --append") from None
    except DatasetError as err:
        raise UserError(f"--out {err}") from None

    learner = None
    if args.policy:
        from s2e.models.checkpoint import CheckpointError, load_checkpoint

        try:
            learner, _ = load_checkpoint(args.policy)
        except CheckpointError as err:
            raise UserError(str(err)) from None
        if args.perturb_prob <= 0.0:
            raise UserError("--policy drives the perturbation bursts: give --perturb_prob > 0 too")
    env, cfg = make_env(args)

    from s2e.nav.perturbation import ActionPerturbation, PerturbationCfg
    from s2e.rendering.cameras import rotmat_from_quat_xyzw
    from s2e_isaaclab.utils.nav_policies import model_task_mismatch, scripted_expert

    base = env.unwrapped
    nav = base.command_manager.get_term("nav")
    camera = base.scene.sensors["camera"]
    expert = scripted_expert(env, avoid_pedestrians=False, speed_fraction=0.8)
    expert_cfg = expert.cfg
    perturb_cfg = PerturbationCfg(args.perturb_prob, args.perturb_steps, args.perturb_angle)
    perturbation = ActionPerturbation(perturb_cfg, base.num_envs, base.device, seed=args.seed)
    cam = cfg.scene.camera
    num_envs, frame_dt = base.num_envs, float(base.step_dt)
    if learner is not None:
        mismatch = model_task_mismatch(cfg, learner.cfg)
        if mismatch:
            raise UserError(f"--policy: {mismatch}")
        learner = learner.to(base.device)
    if existing and (abs(float(existing.get("frame_dt", frame_dt)) - frame_dt) > 1e-9
                     or existing.get("camera", {}).get("width") not in (None, cam.width)
                     or existing.get("camera", {}).get("height") not in (None, cam.height)):
        raise UserError(f"--append: {out / 'dataset.yaml'} has frame_dt {existing.get('frame_dt')} and camera "
                        f"{existing.get('camera')}, this run has frame_dt {frame_dt} and {cam.width}x{cam.height}")
    tile = nav.layouts[0].size
    run_id = len(existing.get("runs", []))
    prefix = f"traj_{args.seed}" if run_id == 0 else f"traj_{args.seed}r{run_id}"

    writer = DatasetWriter(out, num_envs, prefix, args.min_episode_frames, args.keep_collisions, args.jpeg_quality,
                           extra={"seed": args.seed})
    counts = writer.counts
    max_offset = 0.0  # camera position at render time vs the robot pose now + mount: frame and pose are one instant
    robot = base.scene["robot"]
    mount = torch.tensor(cam.offset_pos, device=base.device)

    created = datetime.now().isoformat(timespec="seconds")

    def save_meta(wall: float, steps: int, complete: bool) -> None:
        """dataset.yaml: written at the start, every 30 s and at the end, so any trajectory on disk is readable."""
        run = {"task": args.task, "seed": args.seed, "content": cfg.content, "num_envs": num_envs, "steps": steps,
               "wall_time_s": round(wall, 1), **counts, "complete": complete,
               "frame_pose_offset_m": round(max_offset, 5), "created": created,
               "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])}
        runs = list(existing.get("runs", [])) + [run]
        write_meta(out, DatasetMeta(
            frame_dt=frame_dt, task=args.task, robot=nav.spec.name, control_mode=cfg.control_mode,
            content=sorted({r["content"] for r in runs}) if len(runs) > 1 else cfg.content,
            camera={"width": cam.width, "height": cam.height, "hfov_deg": cam.hfov_deg, "pitch_deg": cam.pitch_deg,
                    "offset_pos": list(cam.offset_pos), "body": cam.prim_path.rsplit("/", 1)[-1]},
            expert={"speed": expert_cfg.speed, "avoid_pedestrians": expert_cfg.avoid_pedestrians},
            perturbation={"prob": perturb_cfg.prob, "steps": perturb_cfg.steps, "angle": perturb_cfg.angle,
                          **({"policy": str(args.policy)} if args.policy else {})},
            start_yaw_noise=cfg.commands.nav.route.start_yaw_noise, keep_collisions=args.keep_collisions,
            min_episode_frames=args.min_episode_frames, runs=runs))

    print(f"[collect] {args.task}: {num_envs} envs, content={cfg.content}, mode={cfg.control_mode}, "
          f"camera {cam.width}x{cam.height}, frame_dt {frame_dt} s -> {out}", flush=True)
    save_meta(0.0, 0, complete=False)
    bar = _progress(args.frames)  # counts kept frames plus those of the running episodes that would be kept
    obs, _ = env.reset(seed=args.seed)
    nav.episode_log.clear()
    t0, steps, last_save, interrupted = time.time(), 0, time.time(), False
    try:
        while (progress := counts["frames"]
               + writer.kept_in_progress(nav.state.collision_count.cpu().numpy())) < args.frames:
            bar.update(progress - bar.n)
            xy, yaw = nav.robot_pose_2d()
            state = nav.refresh()
            rgb = camera.data.rgb[:, -1]  # rendered for this step's observation, at the current pose
            expected = (robot.data.root_pos_w.torch
                        + (rotmat_from_quat_xyzw(robot.data.root_quat_w.torch) @ mount[:, None])[..., 0])
            max_offset = max(max_offset, float((camera.data.pos_w - expected).norm(dim=-1).max()))
            action = expert.act(xy, yaw, nav.routes, state.progress, nav.footprints, nav.footprint_valid, nav.clearance,
                                tile, nav.crowd.pos, nav.crowd.vel, nav.crowd.active)
            learner_action = None
            if learner is not None:
                with torch.no_grad():
                    learner_action = learner(obs["camera"]["rgb"], nav.command[:, :2]).action("best")
            action, is_expert = perturbation.apply(action, learner_action)
            # copies: on the CPU .numpy() views the sensor's ring buffer, which the next render overwrites
            writer.append(rgb.cpu().numpy().copy(), torch.cat([xy, yaw[:, None]], dim=-1).cpu().numpy().copy(),
                           is_expert.cpu().numpy().copy())
            obs, _, terminated, truncated, _ = env.step(action)
            steps += 1
            done = (terminated | truncated).cpu().numpy()
            perturbation.reset(torch.as_tensor(np.flatnonzero(done), device=base.device))
            records: dict[int, dict] = {}
            while nav.episode_log:
                batch = nav.episode_log.popleft()
                for j, i in enumerate(batch["env"]):
                    records[int(i)] = {k: v[j] for k, v in batch.items()}
            for i in np.flatnonzero(done):
                rec = records.get(int(i), {"success": False, "collisions": 0})
                writer.end_episode(int(i), bool(rec["success"]), int(rec["collisions"]))
            bar.set_postfix_str(f"{steps * num_envs / (time.time() - t0):.1f} env-frames/s, {counts['trajectories']} "
                                "traj", refresh=False)
            if time.time() - last_save > 30.0:
                last_save = time.time()
                save_meta(last_save - t0, steps, complete=False)
    except KeyboardInterrupt:
        print("\n[collect] interrupted: keeping the trajectories written so far", file=sys.stderr)
        interrupted = True
        writer.drop_running()  # a step may have been cut mid-append: drop the running episodes
    writer.close(nav.state.collision_count.cpu().numpy())  # the episodes still running, as truncated trajectories
    bar.update(counts["frames"] - bar.n)
    bar.close()
    wall = time.time() - t0
    save_meta(wall, steps, complete=not interrupted)
    if max_offset > 0.01:
        print(f"[collect] warning: a frame was rendered {max_offset:.3f} m away from where the robot pose puts the "
              "camera (frames and poses may be misaligned)", file=sys.stderr)
    rate = counts["frames"] / max(wall, 1e-9)
    print(f"[collect] wrote {counts['frames']} frames in {counts['trajectories']} trajectories ({counts['truncated']} "
          f"truncated) to {out}")
    print(f"[collect] {counts['episodes']} episodes ended ({counts['successes']} reached the goal); dropped "
          f"{counts['dropped_collision']} with a collision, {counts['dropped_short']} shorter than "
          f"{args.min_episode_frames} frames")
    print(f"[collect] {steps} steps x {num_envs} envs in {wall:.0f} s: {steps * num_envs / max(wall, 1e-9):.1f} "
          f"env-frames/s, {rate:.1f} kept frames/s; frame-pose alignment: camera within {max_offset * 100:.2f} cm of "
          "the pose")
    env.close()


def _progress(total: int):
    """A tqdm bar over collected frames (tqdm is pinned by the s2e package)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="frame", desc="[collect]", dynamic_ncols=True, mininterval=2.0)


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    run_main(main)
