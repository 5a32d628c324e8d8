"""Play a trained policy: rollouts with a video, SR / RC / CT, and the policy exported for deployment.

    ./isaaclab.sh -p scripts/play.py --task S2E-Urban-Wheeled --mode base --num_envs 4 --load_run <run folder or regex>
    ./isaaclab.sh -p scripts/play.py --task S2E-Urban-Wheeled --mode base --checkpoint assets/agdm/agdm_wheeled.pt
    ./isaaclab.sh -p scripts/play.py ... --viz viser      # watch it live in a browser (docs/live_view.md)

Plays a run of train_ram.py (logs/rsl_rl/<experiment>/<run>/<checkpoint>; default: the newest run with a
checkpoint, its latest model) or any policy file given with --checkpoint (an AGDM checkpoint, a shipped
fine-tuned policy from ship_policy.py, or a model_<it>.pt). Every env runs --episodes_per_env episodes
with the deterministic policy (the top-scored mode), env 0 is filmed (camera beside a top-down map), and
<run>/play/<date_time>_<checkpoint>_seed<seed>/ (logs/play/<file>/<date_time>_... for --checkpoint) gets rollout.mp4,
episodes.png and results.json; then <run>/exported/ (logs/play/<file>/exported/) gets policy.pt
(TorchScript) and policy.onnx (self-contained), each checked against PyTorch on a real observation.
No PPO runner is built: the policy is loaded for inference only.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import torch

from s2e_isaaclab.utils.cli import (
    RUN_CHECKPOINT_PATTERN,
    UserError,
    add_env_args,
    build_cfgs,
    create_env,
    ensure_writable,
    run_main,
)

AGENT_ENTRY_POINT = "s2e_rl_cfg_entry_point"


def resolve_policy_file(args: argparse.Namespace, experiment_name: str) -> tuple[Path, Path, Path]:
    """(policy file, folder of the plays, folder of the export): --checkpoint, else the run found by --load_run /
    --load_checkpoint."""
    from s2e_isaaclab.utils.checkpoints import RUN_LOGS, run_checkpoint

    if args.checkpoint is not None:
        path = Path(args.checkpoint)
        if not path.is_file():
            raise UserError(f"policy file {path} not found: pass an AGDM checkpoint, a shipped policy or a "
                            "model_<it>.pt, or leave --checkpoint out to play the newest run")
        return path, Path("logs/play") / path.stem, Path("logs/play") / path.stem / "exported"
    path = run_checkpoint(RUN_LOGS / experiment_name, args.load_run, args.load_checkpoint,
                          f"no trained run to play: {{err}}; train one with scripts/train_ram.py --task {args.task}")
    return path, path.parent / "play", path.parent / "exported"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Quadruped")
    parser.add_argument("--load_run", default=".*", help="the run folder, or a regex of run folder names under "
                        "logs/rsl_rl/<experiment> (default: the newest run with a checkpoint)")
    parser.add_argument("--load_checkpoint", default=RUN_CHECKPOINT_PATTERN,
                        help="checkpoint in the run (regex; default: the latest)")
    parser.add_argument("--checkpoint", default=None,
                        help="play this policy file instead of a run: AGDM checkpoint, shipped fine-tuned policy or "
                             "model_<it>.pt")
    parser.add_argument("--episodes_per_env", type=int, default=1)
    parser.add_argument("--video", action=argparse.BooleanOptionalAction, default=True, help="film env 0")
    parser.add_argument("--export", action=argparse.BooleanOptionalAction, default=True,
                        help="write TorchScript and ONNX")
    args = parser.parse_args()
    if not args.camera:
        raise UserError("the AGDM policy needs the camera: drop --no-camera")
    if args.episodes_per_env < 1:
        raise UserError(f"--episodes_per_env {args.episodes_per_env}: play at least 1 episode per env")

    from s2e.rl.export import export_policy
    from s2e.utils.video import Mp4Writer
    from s2e_isaaclab.evaluation.models import load_policy
    from s2e_isaaclab.utils.episodes import EpisodeCounter
    from s2e_isaaclab.utils.nav_policies import AGDMPolicy
    from s2e_isaaclab.utils.rollout_video import RolloutFilm

    env_cfg, agent_cfg = build_cfgs(args, AGENT_ENTRY_POINT)
    path, plays, export_dir = resolve_policy_file(args, agent_cfg.experiment_name)
    # checkpoint and seed in the name: two evaluations started in the same second do not share a folder
    out = ensure_writable(plays, "play output") / f"{datetime.now():%Y-%m-%d_%H-%M-%S}_{path.stem}_seed{args.seed}"
    model, info = load_policy(path, map_location=env_cfg.sim.device)

    env = create_env(args.task, env_cfg, args)
    try:
        policy = AGDMPolicy(env, model)
    except ValueError as err:
        raise UserError(str(err)) from None
    base = env.unwrapped
    nav = base.command_manager.get_term("nav")
    strategy = info["strategy"] or "none (AGDM checkpoint)"
    print(f"[play] {path} ({strategy}) on {args.task}: {base.num_envs} envs x {args.episodes_per_env} episodes",
          flush=True)

    obs, _ = env.reset(seed=args.seed)
    film = RolloutFilm(base, 0, label=args.task) if args.video else None
    video = Mp4Writer(out / "rollout.mp4", fps=1.0 / base.step_dt) if args.video else None
    episodes = EpisodeCounter(nav, args.episodes_per_env)
    while not episodes.finished:
        if film is not None and film.episode < args.episodes_per_env:
            video.append(film.frame())
        with torch.inference_mode():
            plan = policy.outputs(obs)
            actions = plan.action(policy.decode, generator=policy.generator)
        if hasattr(env, "show_plan"):  # the live view (--viz viser) draws every mode, the chosen one bold
            env.show_plan(plan.metric_mu(), plan.logits)
        obs, _, terminated, truncated, _ = episodes.step(env, actions)
        if film is not None:
            film.after_step(terminated, truncated)
        line = episodes.progress_line()
        if line:
            print(f"[play] {line}", flush=True)
    if video is not None:
        video.close()
        film.close()
    result = {"checkpoint": str(path), "task": args.task, "strategy": info["strategy"], "content": env_cfg.content,
              "mode": env_cfg.control_mode, "seed": args.seed, **episodes.summary()}
    episodes.save(out, result)
    print(f"[play] SR {result['SR']:.2f} | RC {result['RC']:.2f} | CT {result['CT']:.2f} ({result['episodes']} "
          f"episodes) -> {out}")
    if args.export:
        images, goal = (x[:1].float() for x in policy.inputs(obs))
        exported = export_policy(model, images, goal, export_dir)
        print(f"[play] exported {exported['torchscript']} and {exported['onnx']} "
              f"(max |diff| vs PyTorch: {exported['max_abs_error']})", flush=True)
    env.close()


if __name__ == "__main__":
    run_main(main)
