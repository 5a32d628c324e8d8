"""Play a run of train_ram.py: rollouts with a video, SR / RC / CT, and the policy exported for deployment.

    ./isaaclab.sh -p scripts/play.py --task S2E-Urban-Wheeled --mode base --num_envs 4 --load_run <run folder regex>

Loads logs/rsl_rl/<experiment>/<run>/<checkpoint> (default: the latest run and model), drives every env
for --episodes_per_env episodes with the deterministic policy (the top-scored mode), films env 0
(camera beside a top-down map) and writes into <run>/play/<date_time>_<checkpoint>_seed<seed>/: rollout.mp4, episodes.png,
results.json; then exports <run>/exported/policy.pt (TorchScript) and policy.onnx, each checked
against the PyTorch policy on a real observation.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import gymnasium as gym
import torch

from s2e_isaaclab.utils.cli import RUN_CHECKPOINT_PATTERN, UserError, add_env_args, build_cfgs, run_main

AGENT_ENTRY_POINT = "s2e_rl_cfg_entry_point"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Quadruped")
    parser.add_argument("--load_run", default=".*", help="run folder under logs/rsl_rl/<experiment> (regex; default: the latest)")
    parser.add_argument("--load_checkpoint", default=RUN_CHECKPOINT_PATTERN, help="checkpoint in the run (regex; default: the latest)")
    parser.add_argument("--episodes_per_env", type=int, default=1)
    parser.add_argument("--video", action=argparse.BooleanOptionalAction, default=True, help="film env 0")
    parser.add_argument("--export", action=argparse.BooleanOptionalAction, default=True, help="write TorchScript and ONNX")
    args = parser.parse_args()
    if not args.camera:
        raise UserError("the AGDM policy needs the camera: drop --no-camera")

    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper
    from isaaclab_tasks.utils import get_checkpoint_path

    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e.rl.export import export_policy
    from s2e.rl.observation_env import AGDMObservationEnv
    from s2e.rl.runner import RunnerCheckpointError, S2ERunner
    from s2e.urban.topdown import save_topdown_grid
    from s2e.utils.files import write_json_atomic
    from s2e.utils.video import Mp4Writer
    from s2e_isaaclab.utils.episodes import EpisodeCounter
    from s2e_isaaclab.utils.rollout_video import RolloutFilm

    env_cfg, agent_cfg = build_cfgs(args, AGENT_ENTRY_POINT)
    log_root = Path("logs/rsl_rl") / agent_cfg.experiment_name
    try:
        path = Path(get_checkpoint_path(str(log_root.resolve()), args.load_run, args.load_checkpoint))
    except (ValueError, FileNotFoundError) as err:
        raise UserError(f"no trained run under {log_root} (run {args.load_run!r}, checkpoint {args.load_checkpoint!r}): "
                        f"train one with scripts/train_ram.py --task {args.task} ({str(err).splitlines()[0]})") from None
    run_dir = path.parent
    try:
        infos = torch.load(path, map_location="cpu", weights_only=False).get("infos") or {}
    except Exception as err:
        raise UserError(f"{path} is not a readable training checkpoint ({str(err).splitlines()[0]}): pick another with --load_checkpoint") from None
    agdm_file = run_dir / "params" / "agdm.pt"
    agent_cfg.actor.checkpoint = str(agdm_file if agdm_file.is_file() else infos.get("agdm_checkpoint", ""))
    agent_cfg.set_strategy(infos.get("strategy", agent_cfg.actor.strategy))
    try:
        agdm, _ = load_checkpoint(agent_cfg.actor.checkpoint)
    except CheckpointError as err:
        raise UserError(f"the run's AGDM checkpoint: {err}") from None
    agent_cfg.device = env_cfg.sim.device

    env = gym.make(args.task, cfg=env_cfg)
    isaac_vec = RslRlVecEnvWrapper(env)
    vec = AGDMObservationEnv(isaac_vec, agdm, agent_cfg.actor.strategy)
    runner = S2ERunner(vec, agent_cfg.to_dict(), log_dir=None, device=agent_cfg.device)
    try:
        runner.load(str(path))
    except RunnerCheckpointError as err:
        raise UserError(str(err)) from None
    policy = runner.get_inference_policy(device=agent_cfg.device)
    base = env.unwrapped
    nav = base.command_manager.get_term("nav")
    # checkpoint and seed in the name: two evaluations started in the same second do not share a folder
    out = run_dir / "play" / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{path.stem}_seed{args.seed}"
    print(f"[play] {path} ({agent_cfg.actor.strategy}) on {args.task}: {base.num_envs} envs x {args.episodes_per_env} episodes", flush=True)

    obs = vec.get_observations()
    film = RolloutFilm(base, 0, label=args.task) if args.video else None
    video = Mp4Writer(out / "rollout.mp4", fps=1.0 / base.step_dt) if args.video else None
    episodes = EpisodeCounter(nav, args.episodes_per_env)
    while not episodes.finished:
        if film is not None and film.episode < args.episodes_per_env:
            video.append(film.frame())
        with torch.inference_mode():
            actions = policy(obs, stochastic_output=False)
        episodes.before_step()
        obs, _, dones, extras = vec.step(actions)
        time_outs = extras["time_outs"].bool()
        terminated, truncated = dones.bool() & ~time_outs, time_outs
        episodes.after_step(terminated, truncated)
        if film is not None:
            film.after_step(terminated, truncated)
        line = episodes.progress_line()
        if line:
            print(f"[play] {line}", flush=True)
    if video is not None:
        video.close()
        film.close()
    result = {"checkpoint": str(path), "task": args.task, "strategy": agent_cfg.actor.strategy, "content": env_cfg.content,
              "mode": env_cfg.control_mode, "seed": args.seed, **episodes.summary()}
    write_json_atomic(out / "results.json", result)
    if episodes.panels:
        save_topdown_grid(out / "episodes.png", episodes.panels)
    print(f"[play] SR {result['SR']:.2f} | RC {result['RC']:.2f} | CT {result['CT']:.2f} ({result['episodes']} episodes) -> {out}")
    if args.export:
        raw = isaac_vec.get_observations()
        images, goal = raw["camera"]["rgb"][:1].float(), raw["route"][:1, :2]
        exported = export_policy(runner.alg.get_policy().deploy_model(), images, goal, run_dir / "exported")
        print(f"[play] exported {exported['torchscript']} and {exported['onnx']} "
              f"(max |diff| vs PyTorch: {exported['max_abs_error']})", flush=True)
    vec.close()


if __name__ == "__main__":
    run_main(main)
