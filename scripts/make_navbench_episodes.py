"""Write NavBench-GS's episode files (assets/<split folder>/<task>.json) for both robots and all four tasks.

    ./isaaclab.sh -p scripts/make_navbench_episodes.py                # the shipped urban split (assets/navbench/v1)
    ./isaaclab.sh -p scripts/make_navbench_episodes.py --split shift  # the shipped shift split (assets/navbench/shift)
    ./isaaclab.sh -p scripts/make_navbench_episodes.py --num_scenes 4 --episodes_per_scene 2 --out logs/my_suite
    # into logs/bundles/block_3/navbench/:
    ./isaaclab.sh -p scripts/make_navbench_episodes.py --scene_bundle logs/bundles/block_3

Blocks are generated from the split's held-out seeds in its appearance family (s2e.navbench.splits,
s2e.navbench.generate); routes keep each robot's radius
plus the tasks' margin from obstacles, as the S2E-Urban tasks plan them. Rerun after changing the
block generator: the tasks refuse episode files whose block fingerprints no longer match.
With --scene_bundle the files put every task on that captured scene: --num_scenes copies of it, each
with obstacles spawned on its walkable area in the Obstacle and Mixed tasks (as on the procedural
blocks) and pedestrians in the Pedestrian and Mixed tasks; episodes follow the bundle's routes where
nothing was spawned, else are sampled on the walkable area its route_distance apart. Evaluate them with
eval_navbench.py --episodes_dir <out>.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from s2e.navbench.splits import DEFAULT_SPLIT, SPLITS
from s2e_isaaclab.paths import ASSETS_DIR
from s2e_isaaclab.utils.cli import UserError, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=list(SPLITS), default=DEFAULT_SPLIT,
                        help="which blocks: their family and seeds")
    parser.add_argument("--num_scenes", type=int, default=None, help="default: the split's")
    parser.add_argument("--episodes_per_scene", type=int, default=None, help="default: the split's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None,
                        help="default: the split's folder under assets/, or <bundle>/navbench with --scene_bundle")
    parser.add_argument("--scene_bundle", default=None,
                        help="a scene bundle folder (s2e.urban.scene_bundle) instead of the procedural blocks")
    parser.add_argument("--robots", nargs="+", choices=("Wheeled", "Quadruped"), default=["Wheeled", "Quadruped"])
    args = parser.parse_args()
    split = SPLITS[args.split]
    num_scenes, per_scene = args.num_scenes or split.num_scenes, args.episodes_per_scene or split.episodes_per_scene
    if num_scenes < 1 or per_scene < 1:
        raise UserError(f"--num_scenes {num_scenes} --episodes_per_scene {per_scene}: make at least one of each")
    out = Path(args.out or (Path(args.scene_bundle) / "navbench" if args.scene_bundle else ASSETS_DIR / split.folder))

    from s2e.navbench.episodes import save_suite
    from s2e.navbench.generate import make_bundle_suite, make_suite
    from s2e.urban.routes import RouteCfg
    from s2e.urban.scene_bundle import load_scene_bundle
    from s2e_isaaclab.robots import DELIVERY_BOT, GO2
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import TASK_CONTENT, task_id
    from s2e_isaaclab.tasks.urban.urban_env_cfg import MAX_PEDESTRIANS, OBSTACLE_DENSITY, PEDESTRIAN_COUNT, ROUTE_MARGIN

    bundle = load_scene_bundle(args.scene_bundle) if args.scene_bundle else None
    for robot, spec in (("Wheeled", DELIVERY_BOT), ("Quadruped", GO2)):
        if robot not in args.robots:
            continue
        for task, content in TASK_CONTENT.items():
            common = dict(route=RouteCfg(clearance=spec.radius + ROUTE_MARGIN), max_lin_vel=spec.max_lin_vel,
                          seed=args.seed, pedestrians=PEDESTRIAN_COUNT if content in ("pedestrians", "mixed")
                          else (0, 0))
            common.update(num_scenes=num_scenes, episodes_per_scene=per_scene,
                          obstacle_density=OBSTACLE_DENSITY if content in ("obstacles", "mixed") else 0.0)
            if bundle is None:
                suite = make_suite(task_id(task, robot), robot, content, split, **common)
            else:
                ref = os.path.relpath(Path(args.scene_bundle).resolve(), out.resolve())
                suite = make_bundle_suite(task_id(task, robot), robot, content, bundle, ref, family=split.family,
                                          **common)
            assert suite.pedestrians[1] <= MAX_PEDESTRIANS
            path = save_suite(out / f"{suite.task}.json", suite)
            print(f"[navbench] {path}: {len(suite.scenes)} scenes, {len(suite.episodes)} episodes")


if __name__ == "__main__":
    run_main(main)
