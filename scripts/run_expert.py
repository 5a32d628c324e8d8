"""Drive an S2E-Urban task with the scripted expert and report SR / RC / CT.

    ./isaaclab.sh -p scripts/run_expert.py --task S2E-Urban-Quadruped --num_envs 4 --headless

Runs --episodes_per_env episodes in every env (episodes an env finishes beyond its quota are not
counted, so short episodes are not over-represented), prints progress with an ETA,
then the success rate (SR), mean route completion (RC) and collisions per episode (CT), and saves
results.json and a top-down map of the episodes under logs/expert/<task>/<date_time>/.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

import torch

from s2e_isaaclab.utils.cli import add_env_args, make_env, run_main
from s2e_isaaclab.utils.episodes import EpisodeCounter


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted expert on an S2E-Urban task: SR / RC / CT.")
    add_env_args(parser)
    parser.add_argument("--episodes_per_env", type=int, default=1)
    parser.add_argument("--no_pedestrian_avoidance", action="store_true",
                        help="blind to pedestrians, like passive video")
    parser.add_argument("--log_dir", default="logs/expert")
    args = parser.parse_args()
    env, cfg = make_env(args)

    from s2e_isaaclab.utils.nav_policies import ScriptedExpertPolicy

    base = env.unwrapped
    nav = base.command_manager.get_term("nav")
    expert = ScriptedExpertPolicy(env, avoid_pedestrians=not args.no_pedestrian_avoidance)
    num_envs = base.num_envs
    env.reset(seed=args.seed)
    episodes = EpisodeCounter(nav, args.episodes_per_env)
    print(f"[expert] {args.task}: {num_envs} envs, content={cfg.content}, mode={cfg.control_mode}, target "
          f"{episodes.target} episodes", flush=True)
    episodes.run(env, expert, None, log=lambda line: print(f"[expert] {line}", flush=True))

    summary = episodes.summary()
    out = Path(args.log_dir) / args.task / datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    result = {"task": args.task, "content": cfg.content, "mode": cfg.control_mode, "num_envs": num_envs,
              "seed": args.seed, **summary}
    episodes.save(out, result)
    print(f"[expert] results in {out}")
    print(f"SR {result['SR']:.2f} | RC {result['RC']:.2f} | CT {result['CT']:.2f}  ({result['episodes']} episodes, "
          f"{result['wall_time_s']:.0f} s)")
    env.close()


if __name__ == "__main__":
    torch.set_num_threads(max(1, torch.get_num_threads()))
    run_main(main)
