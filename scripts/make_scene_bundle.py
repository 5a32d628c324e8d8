"""Export a procedural block as a scene bundle: an example of the format, and a bundle to test with.

    ./isaaclab.sh -p scripts/make_scene_bundle.py --seed 3 --out logs/bundles/block_3
    ./isaaclab.sh -p scripts/run_expert.py --task S2E-Urban-Wheeled env.scene.terrain.scene_bundle=logs/bundles/block_3

The bundle holds the block's Gaussians, a TSDF-like collision mesh, its walkable area and sampled
routes, stored in a rotated, offset and scaled capture frame with the inverse as its alignment (see
s2e/urban/procedural_bundle.py). It is loaded back before the script reports success, so a bundle
this script writes is one the tasks accept.
"""

from __future__ import annotations

import argparse
import time

from s2e.rendering.ply import PlyError
from s2e.urban.mesh_io import MeshError
from s2e.urban.procedural_bundle import export_procedural_bundle
from s2e.urban.scene_bundle import SceneBundleError, load_scene_bundle
from s2e.utils.errors import exit_bad_input

OBSTACLE_DENSITY = {"empty": 0.0, "obstacles": 1.5}


def main() -> None:
    parser = argparse.ArgumentParser(description="Write a procedural S2E-Urban block as a scene bundle folder.")
    parser.add_argument("--seed", type=int, default=0,
                        help="block seed (the same block as env 0 of --seed N in the tasks' generator)")
    parser.add_argument("--out", default=None, help="bundle folder to write (default logs/bundles/block_<seed>)")
    parser.add_argument("--content", choices=tuple(OBSTACLE_DENSITY), default="obstacles",
                        help="static content of the block (pedestrians are spawned by the task, not stored in a "
                             "bundle)")
    parser.add_argument("--routes", type=int, default=6, help="number of start/goal routes to sample")
    parser.add_argument("--mesh", choices=("ply", "obj"), default="ply", help="collision mesh file format")
    args = parser.parse_args()
    if args.routes < 0:
        parser.error("--routes must be >= 0")
    out = args.out or f"logs/bundles/block_{args.seed}"
    t0 = time.time()
    try:
        path = export_procedural_bundle(out, seed=args.seed, obstacle_density=OBSTACLE_DENSITY[args.content],
                                        num_routes=args.routes, mesh_file=f"collision.{args.mesh}")
        bundle = load_scene_bundle(path)
    except (SceneBundleError, PlyError, MeshError, OSError, RuntimeError) as err:
        exit_bad_input(str(err))
    print(f"wrote {path} in {time.time() - t0:.1f} s: {bundle.gaussians.num_gaussians} Gaussians, "
          f"{len(bundle.faces)} mesh triangles, {int(bundle.layout.walkable.sum())} walkable cells, "
          f"{len(bundle.layout.walk_rects)} walk rectangles, {len(bundle.routes)} routes")
    print(f"use it with: env.scene.terrain.scene_bundle={path}")


if __name__ == "__main__":
    main()
