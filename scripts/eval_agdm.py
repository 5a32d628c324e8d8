"""Drive an S2E-Urban task with an AGDM checkpoint in closed loop and report SR / RC / CT.

    ./isaaclab.sh -p scripts/eval_agdm.py --task S2E-Urban-Wheeled --num_envs 16 --mode base --content empty \
        --seed 7 --episodes_per_env 2            # the bundled checkpoint; --checkpoint logs/pretrain/<run>/agdm.pt

Each step the policy sees the camera's last k frames and a goal point in the robot frame and acts
with its top-scored mode (`--decode mean`: the score-weighted mean trajectory; `--decode sample`: a
draw from the mixture). `--goal final` gives it the episode's goal; `--goal route` (the default)
the point a look-ahead further along the reference route (the goal itself near the end):
route guidance, as a robot following a navigation app's route gets, which training covers since
its goals are later points of the driven path. The look-ahead is the task's route look-ahead
(env.observations.route.goal.params.lookahead, the one training's route observation uses);
--route_lookahead sets that field for this run.
Episodes are counted as in run_expert.py; results.json and a top-down map of the episodes go under
logs/eval_agdm/<task>/<date_time>/.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import gymnasium as gym
import torch

from s2e_isaaclab.utils.cli import UserError, add_env_args, build_env_cfg, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Wheeled")
    parser.add_argument("--checkpoint", default=None,
                        help="an AGDM checkpoint (default: the bundled assets/agdm/agdm_wheeled.pt)")
    parser.add_argument("--episodes_per_env", type=int, default=1)
    parser.add_argument("--decode", choices=("best", "mean", "sample"), default="best",
                        help="action from the mixture: the top-scored mode, the score-weighted mean, or a sample")
    parser.add_argument("--goal", choices=("route", "final"), default="route",
                        help="goal input: a point ahead on the reference route, or the episode's goal")
    parser.add_argument("--route_lookahead", type=float, default=None,
                        help="metres ahead along the route for --goal route (default: the task's, "
                             "env.observations.route.goal.params.lookahead)")
    parser.add_argument("--log_dir", default="logs/eval_agdm")
    args = parser.parse_args()
    if not args.camera:
        raise UserError("the AGDM policy needs the camera: drop --no-camera")

    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e_isaaclab.evaluation.closed_loop import run_episodes
    from s2e_isaaclab.tasks.urban.urban_env_cfg import route_lookahead, set_route_lookahead
    from s2e_isaaclab.utils.checkpoints import agdm_checkpoint
    from s2e_isaaclab.utils.nav_policies import AGDMPolicy

    args.checkpoint = agdm_checkpoint(args.checkpoint)

    try:
        model, meta = load_checkpoint(args.checkpoint)
    except CheckpointError as err:
        raise UserError(str(err)) from None
    cfg = build_env_cfg(args)
    if args.route_lookahead is not None:
        try:
            set_route_lookahead(cfg, args.route_lookahead)
        except ValueError as err:
            raise UserError(f"--route_lookahead: {err}") from None
    env = gym.make(args.task, cfg=cfg)
    base = env.unwrapped
    gen = torch.Generator(device=base.device).manual_seed(args.seed)
    try:
        policy = AGDMPolicy(env, model, args.decode, args.goal, gen)
    except ValueError as err:
        raise UserError(str(err)) from None
    print(f"[eval_agdm] {args.checkpoint} on {args.task}: {base.num_envs} envs, content={cfg.content}, "
          f"mode={cfg.control_mode}, goal={args.goal}", flush=True)
    episodes = run_episodes(env, policy, args.episodes_per_env, args.seed,
                            log=lambda line: print(f"[eval_agdm] {line}", flush=True))
    result = {"checkpoint": str(args.checkpoint), "task": args.task, "content": cfg.content, "mode": cfg.control_mode,
              "seed": args.seed, "goal": args.goal,
              **({"route_lookahead": route_lookahead(cfg)} if args.goal == "route" else {}), "decode": args.decode,
              **episodes.summary()}
    out_dir = Path(args.log_dir) / args.task / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    episodes.save(out_dir, result)
    print(f"[eval_agdm] results in {out_dir}")
    print(f"SR {result['SR']:.2f} | RC {result['RC']:.2f} | CT {result['CT']:.2f}  ({result['episodes']} episodes)")
    env.close()


if __name__ == "__main__":
    run_main(main)
