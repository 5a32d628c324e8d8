"""Write NavBench-GS's episode files (assets/navbench/v1/<task>.json) for both robots and all four tasks.

    ./isaaclab.sh -p scripts/make_navbench_episodes.py            # the shipped suite
    ./isaaclab.sh -p scripts/make_navbench_episodes.py --num_scenes 8 --episodes_per_scene 4 --out assets/navbench/v1
    ./isaaclab.sh -p scripts/make_navbench_episodes.py --scene_bundle logs/bundles/block_3   # -> logs/bundles/block_3/navbench/

Blocks are generated from held-out seeds (s2e.navbench.generate); routes keep each robot's radius
plus the tasks' margin from obstacles, as the S2E-Urban tasks plan them. Rerun after changing the
block generator: the tasks refuse episode files whose block fingerprints no longer match.
With --scene_bundle the files put every task on that captured street (its routes in turn, or
episodes sampled on its walkable area; pedestrians in the Pedestrian and Mixed tasks, its own
geometry as the obstacles); evaluate them with eval_navbench.py --episodes_dir <out>.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from s2e_isaaclab.utils.cli import run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_scenes", type=int, default=8)
    parser.add_argument("--episodes_per_scene", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="default: assets/navbench/v1, or <bundle>/navbench with --scene_bundle")
    parser.add_argument("--scene_bundle", default=None, help="a scene bundle folder (s2e.urban.scene_bundle) instead of the procedural blocks")
    parser.add_argument("--robots", nargs="+", choices=("Wheeled", "Quadruped"), default=["Wheeled", "Quadruped"])
    args = parser.parse_args()
    out = Path(args.out or (Path(args.scene_bundle) / "navbench" if args.scene_bundle else "assets/navbench/v1"))

    from s2e.navbench.episodes import save_suite
    from s2e.navbench.generate import make_bundle_suite, make_suite
    from s2e.urban.scene_bundle import load_scene_bundle
    from s2e.urban.routes import RouteCfg
    from s2e_isaaclab.robots import DELIVERY_BOT, GO2
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import TASK_CONTENT, task_id
    from s2e_isaaclab.tasks.urban.urban_env_cfg import MAX_PEDESTRIANS, OBSTACLE_DENSITY, PEDESTRIAN_COUNT, ROUTE_MARGIN

    bundle = load_scene_bundle(args.scene_bundle) if args.scene_bundle else None
    for robot, spec in (("Wheeled", DELIVERY_BOT), ("Quadruped", GO2)):
        if robot not in args.robots:
            continue
        for task, content in TASK_CONTENT.items():
            common = dict(route=RouteCfg(clearance=spec.radius + ROUTE_MARGIN), max_lin_vel=spec.max_lin_vel, seed=args.seed,
                          pedestrians=PEDESTRIAN_COUNT if content in ("pedestrians", "mixed") else (0, 0))
            if bundle is None:
                suite = make_suite(task_id(task, robot), robot, content, num_scenes=args.num_scenes,
                                   episodes_per_scene=args.episodes_per_scene,
                                   obstacle_density=OBSTACLE_DENSITY if content in ("obstacles", "mixed") else 0.0, **common)
            else:
                ref = os.path.relpath(Path(args.scene_bundle).resolve(), out.resolve())
                suite = make_bundle_suite(task_id(task, robot), robot, content, bundle, ref,
                                          episodes=args.num_scenes * args.episodes_per_scene, **common)
            assert suite.pedestrians[1] <= MAX_PEDESTRIANS
            path = save_suite(out / f"{suite.task}.json", suite)
            print(f"[navbench] {path}: {len(suite.scenes)} scenes, {len(suite.episodes)} episodes")


if __name__ == "__main__":
    run_main(main)
