"""Turn a raw 3DGS capture (.ply, .splat or PlayCanvas SOG; Gaussians only) into a scene bundle, with a preview to
check.

    ./isaaclab.sh -p scripts/make_bundle_from_capture.py capture.ply --out logs/bundles/my_street --scale 0.8
    ./isaaclab.sh -p scripts/run_expert.py --task S2E-Urban-Wheeled \
        env.scene.terrain.scene_bundle=logs/bundles/my_street

Estimates the ground plane and up direction, the yaw and the tile, derives occupancy from the
Gaussians above the ground, writes bundle.yaml, scene.ply, collision.ply, preview.png (top down, >= 800 px,
with a legend and a scale bar: Gaussians, walkable green, obstacles red, routes as the task plans them) and
first_person.png (from the first route's start). Stops with one line, writing nothing, when fewer routes than
--routes fit the walkable area. Every estimate is printed with the flag that overrides it (see s2e/urban/capture.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from s2e.utils.errors import exit_bad_input


def main() -> None:
    parser = argparse.ArgumentParser(description="Make a scene bundle from a raw 3DGS capture (.ply, .splat or SOG).")
    parser.add_argument("capture", help="3DGS capture: INRIA .ply, antimatter15 .splat, SOG (.sog, meta.json) or "
                                        "streamed SOG (lod-meta.json)")
    parser.add_argument("--lod_level", type=int, default=None,
                        help="streamed SOG: the level of detail to read (0 finest; default the coarsest)")
    parser.add_argument("--out", required=True, help="bundle folder to write")
    parser.add_argument("--name", default=None, help="bundle name (default: the capture file's stem)")
    parser.add_argument("--scale", type=float, default=None,
                        help="metres per capture unit (default: none known, 1 unit = 1 m)")
    parser.add_argument("--reference_length", type=float, default=None,
                        help="metres between --reference_points (instead of --scale)")
    parser.add_argument("--reference_points", type=float, nargs=6, default=None,
                        metavar=("X0", "Y0", "Z0", "X1", "Y1", "Z1"),
                        help="two capture-frame points --reference_length metres apart")
    parser.add_argument("--up", default=None, help="capture up axis: +x -x +y -y +z -z or 'x,y,z' (default: estimated)")
    parser.add_argument("--yaw_deg", type=float, default=None,
                        help="tile yaw (default: estimated from edge directions)")
    parser.add_argument("--centre", type=float, nargs=2, default=None, metavar=("X", "Y"),
                        help="tile centre in the levelled frame (m)")
    parser.add_argument("--size", type=float, default=None, help="tile side (m) (default: the capture's robust extent)")
    parser.add_argument("--obstacle_heights", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="height band (m)")
    parser.add_argument("--min_count", type=int, default=None,
                        help="opaque Gaussians a cell needs in the band to be an obstacle")
    parser.add_argument("--walkable_ground", choices=("auto", "all", "light", "dark"), default=None,
                        help="which free ground is walkable: auto = the lighter (sidewalks) where colour and curbs say "
                             "street, else all; all / light / dark: forced")
    parser.add_argument("--route_clearance", type=float, default=None,
                        help="route clearance (m): robot radius + 0.3 (default 0.75, wheeled)")
    parser.add_argument("--routes", type=int, default=4, help="number of routes to sample")
    parser.add_argument("--max_gaussians", type=int, default=None,
                        help="CPU budget: keep this many Gaussians, the most opaque and largest (default: all); prints "
                             "the render difference")
    parser.add_argument("--no_render", action="store_true",
                        help="skip first_person.png (a CPU render takes a while for big captures)")
    args = parser.parse_args()

    from s2e.urban.capture import SETTINGS, capture_cfg

    capture = Path(args.capture)
    try:
        if not capture.exists():
            raise ValueError(f"{capture}: capture file not found")
        if not (capture.suffix.lower() in (".ply", ".splat", ".sog") or capture.name.endswith("meta.json")):
            raise ValueError(f"{capture}: expected a 3DGS capture: .ply, .splat, .sog, a SOG meta.json or "
                             "lod-meta.json")
        cfg = capture_cfg({key: getattr(args, key) for key in SETTINGS})
    except ValueError as err:
        exit_bad_input(str(err))

    from s2e.rendering.capture_files import load_capture
    from s2e.rendering.ply import PlyError
    from s2e.urban.capture import CaptureError, build_capture_bundle
    from s2e.urban.capture_preview import write_previews
    from s2e.urban.mesh_io import MeshError
    from s2e.urban.scene_bundle import SceneBundleError

    t0 = time.time()
    try:
        g = load_capture(capture, args.lod_level)
        result = build_capture_bundle(g, args.out, cfg, name=args.name or capture.stem)
    except (CaptureError, PlyError, MeshError, SceneBundleError, OSError) as err:
        exit_bad_input(str(err))
    for line in result.estimate.lines():
        print(line)
    b, grids = result.bundle, result.grids
    print(f"occupancy: {int(grids.band.sum())} cells with geometry in {cfg.height_band[0]}-{cfg.height_band[1]} m, "
          f"{int((~grids.ground).sum())} cells with no ground seen; {int(b.layout.walkable.sum())} walkable cells of "
          f"{grids.walkable.size} ({grids.resolution} m)  [--obstacle_heights, --min_count]")
    print(grids.split.line(cfg.ground_split.choice))
    if result.budget is not None:
        print(result.budget.line(result.num_kept, result.num_gaussians) + "  [--max_gaussians]")
    print(f"cropped {b.num_cropped} of {b.gaussians.num_gaussians + b.num_cropped} Gaussians outside the tile + margin")
    print(f"routes: {len(b.routes)} with {cfg.route_clearance} m clearance, "
          f"{b.route_distance[0]:g}-{b.route_distance[1]:g} m start to goal (the task samples its episodes that far "
          "apart)  [--routes, --route_clearance]")
    out = Path(args.out)
    write_previews(b, cfg.route_clearance, render=not args.no_render)
    print(f"wrote {out} in {time.time() - t0:.1f} s; check {out / 'preview.png'}, then use it with: "
          f"env.scene.terrain.scene_bundle={out}")


if __name__ == "__main__":
    main()
