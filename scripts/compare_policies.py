"""Compare two policies on the same fixed episodes: paired outcomes, exact McNemar p, bootstrap CIs.

    ./isaaclab.sh -p scripts/compare_policies.py --a assets/agdm/agdm_wheeled.pt \
        --b logs/rsl_rl/s2e_ram_wheeled/<run>/model_29.pt --names checkpoint fine-tuned \
        --task S2E-Urban-Wheeled --content obstacles --mode base --seeds 7 8 9 --num_envs 16 --episodes_per_env 2

A policy is an AGDM checkpoint or a train_ram.py checkpoint (model_<it>.pt). Each (policy, seed) is
evaluated with the top mode (what play.py and NavBench-GS run) in its own process, --jobs at a time
with one torch thread each, and cached under --cache by the policy file's digest and the settings:
the checkpoint's evaluation is reused by later comparisons and an interrupted comparison resumes.
The episodes are paired by (seed, env, env_episode); --out gets comparison.md and comparison.json,
and the last line printed is the comparison, e.g.
`SR 0.62 -> 0.75 (+13 pts; 14 wins / 2 losses, McNemar p = 0.004), CT 0.36 -> 0.22 (96 paired episodes)`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from s2e.navbench.tasks import ROBOTS
from s2e_isaaclab.evaluation.compare import DEFAULT_CACHE, EpisodeSet, compare_policies, save_comparison
from s2e_isaaclab.utils.cli import UserError, add_env_args, run_main


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_env_args(parser, default_task="S2E-Urban-Wheeled")
    parser.add_argument("--a", required=True,
                        help="policy A (the reference): AGDM checkpoint or train_ram.py model_<it>.pt")
    parser.add_argument("--b", required=True, help="policy B: AGDM checkpoint or train_ram.py model_<it>.pt")
    parser.add_argument("--names", nargs=2, default=("A", "B"), metavar=("NAME_A", "NAME_B"),
                        help="names in the report")
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9],
                        help="episode sets (block seeds); 7 8 9 are the test blocks")
    parser.add_argument("--episodes_per_env", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="evaluations run at once (one torch thread each)")
    parser.add_argument("--cache", default=DEFAULT_CACHE, help="folder of the cached per-(policy, seed) evaluations")
    parser.add_argument("--out", default="logs/compare", help="folder for comparison.md and comparison.json")
    parser.add_argument("--rerank_b", type=float, default=None, metavar="TAU",
                        help="policy B acts with its modes re-ranked by the simulator's per-mode labels at "
                             "temperature TAU (metres; privileged, as the ranking loss's target): the ceiling of "
                             "fitting the labels")
    parser.add_argument("--record", default=None, metavar="JSON",
                        help="also record the comparison as a recipe run in this file (e.g. "
                             "docs/results/rl_recipe.json); needs --recipe, --train_seed, --robot")
    parser.add_argument("--recipe", default=None, help="--record: the recipe's name")
    parser.add_argument("--train_seed", type=int, default=None, help="--record: the run's training seed")
    parser.add_argument("--robot", choices=ROBOTS, default=None, help="--record: the robot")
    parser.add_argument("--train_minutes", type=float, default=None, help="--record: the run's training time")
    parser.add_argument("--command", default="", help="--record: the training command")
    args = parser.parse_args(argv)
    if args.names[0] == args.names[1]:
        raise UserError(f"--names must differ (both {args.names[0]!r})")
    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    if args.rerank_b is not None and args.rerank_b <= 0:
        raise UserError(f"--rerank_b must be > 0 (metres of route progress), got {args.rerank_b}")
    if args.record and args.rerank_b is not None:
        raise UserError("--record records fine-tuned policies: a re-ranked (privileged) policy is not one; drop "
                        "--record or --rerank_b")
    if args.record and None in (args.recipe, args.train_seed, args.robot):
        raise UserError("--record needs --recipe NAME --train_seed S --robot wheeled|quadruped")
    for policy in (args.a, args.b):
        if not Path(policy).is_file():
            raise UserError(f"policy file {policy} not found: pass an AGDM checkpoint (e.g. "
                            "assets/agdm/agdm_wheeled.pt) or a train_ram.py checkpoint "
                            "(logs/rsl_rl/<experiment>/<run>/model_<it>.pt)")
    return args


def main() -> None:
    args = parse_args()
    episodes = EpisodeSet(task=args.task, seeds=args.seeds, num_envs=args.num_envs,
                          episodes_per_env=args.episodes_per_env, content=args.content, mode=args.mode,
                          overrides=args.overrides, device=args.device)
    t0 = time.time()
    overall, per_seed = compare_policies(args.a, args.b, episodes, args.cache, tuple(args.names), args.jobs,
                                         log=lambda line: print(f"[compare] {line}", flush=True),
                                         rerank_b=args.rerank_b)
    report = save_comparison(args.out, args.a, args.b, episodes, overall, per_seed)
    if args.record:
        from s2e.navbench.recipe_runs import recipe_entry, record_run

        entry = recipe_entry(overall, args.robot, args.recipe, args.train_seed, args.train_minutes, args.command,
                             args.b)
        print(f"[compare] recorded in {args.record} ({len(record_run(args.record, entry))} runs)", flush=True)
    print(f"[compare] {time.time() - t0:.0f} s; report: {report}", flush=True)
    print(f"[compare] {args.names[1]} vs {args.names[0]}: {overall.line()}", flush=True)


if __name__ == "__main__":
    run_main(main)
