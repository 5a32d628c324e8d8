"""Turn a raw 3DGS capture (.ply or .splat, Gaussians only) into a scene bundle, with a preview to check.

    ./isaaclab.sh -p scripts/make_bundle_from_capture.py capture.ply --out logs/bundles/my_street --scale 0.8
    ./isaaclab.sh -p scripts/run_expert.py --task S2E-Urban-Wheeled env.scene.terrain.scene_bundle=logs/bundles/my_street

Estimates the ground plane and up direction, the yaw and the tile, derives occupancy from the
Gaussians above the ground, writes bundle.yaml, scene.ply, collision.ply, preview.png (top down:
Gaussians, walkable green, obstacles red, routes blue) and first_person.png (from the first route's
start). Every estimate is printed with the flag that overrides it (see s2e/urban/capture.py).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from s2e.utils.errors import exit_bad_input


def main() -> None:
    parser = argparse.ArgumentParser(description="Make a scene bundle from a raw 3DGS capture (.ply or .splat).")
    parser.add_argument("capture", help="3DGS capture: INRIA .ply or antimatter15 .splat")
    parser.add_argument("--out", required=True, help="bundle folder to write")
    parser.add_argument("--name", default=None, help="bundle name (default: the capture file's stem)")
    parser.add_argument("--scale", type=float, default=None, help="metres per capture unit (default: none known, 1 unit = 1 m)")
    parser.add_argument("--reference_length", type=float, default=None, help="metres between --reference_points (instead of --scale)")
    parser.add_argument("--reference_points", type=float, nargs=6, default=None, metavar=("X0", "Y0", "Z0", "X1", "Y1", "Z1"),
                        help="two capture-frame points --reference_length metres apart")
    parser.add_argument("--up", default=None, help="capture up axis: +x -x +y -y +z -z or 'x,y,z' (default: estimated)")
    parser.add_argument("--yaw_deg", type=float, default=None, help="tile yaw (default: estimated from edge directions)")
    parser.add_argument("--centre", type=float, nargs=2, default=None, metavar=("X", "Y"), help="tile centre in the levelled frame (m)")
    parser.add_argument("--size", type=float, default=None, help="tile side (m) (default: the capture's robust extent)")
    parser.add_argument("--obstacle_heights", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"), help="height band (m)")
    parser.add_argument("--min_count", type=int, default=None, help="opaque Gaussians a cell needs in the band to be an obstacle")
    parser.add_argument("--walkable_ground", choices=("auto", "all", "light", "dark"), default="auto",
                        help="which free ground is walkable: auto = the lighter (sidewalks) where colour and curbs say street, "
                             "else all; all / light / dark: forced")
    parser.add_argument("--route_clearance", type=float, default=None, help="route clearance (m): robot radius + 0.3 (default 0.75, wheeled)")
    parser.add_argument("--routes", type=int, default=4, help="number of routes to sample")
    parser.add_argument("--no_render", action="store_true", help="skip first_person.png (a CPU render takes a while for big captures)")
    args = parser.parse_args()

    from s2e.urban.capture import CaptureCfg, parse_axis, scale_from_reference

    capture = Path(args.capture)
    cfg = CaptureCfg(num_routes=args.routes)
    try:
        if not capture.is_file():
            raise ValueError(f"{capture}: capture file not found")
        if capture.suffix.lower() not in (".ply", ".splat"):
            raise ValueError(f"{capture}: expected a .ply or .splat 3DGS capture")
        if args.scale is not None and args.reference_length is not None:
            raise ValueError("give either --scale or --reference_length, not both")
        if (args.reference_length is None) != (args.reference_points is None):
            raise ValueError("--reference_length needs --reference_points X0 Y0 Z0 X1 Y1 Z1 (two picked capture points)")
        if args.scale is not None:
            if not args.scale > 0:
                raise ValueError(f"--scale must be positive (metres per unit), got {args.scale}")
            cfg.scale = args.scale
        if args.reference_length is not None:
            p = np.asarray(args.reference_points)
            cfg.scale = scale_from_reference(p[:3], p[3:], args.reference_length)
        if args.up is not None:
            cfg.up_override = parse_axis(args.up)
        if args.size is not None and not args.size > 0:
            raise ValueError(f"--size must be positive (m), got {args.size}")
        if args.obstacle_heights is not None:
            lo, hi = args.obstacle_heights
            if not 0 <= lo < hi:
                raise ValueError(f"--obstacle_heights must be LOW HIGH with 0 <= LOW < HIGH, got {lo} {hi}")
            cfg.height_band = (lo, hi)
        if args.min_count is not None:
            if args.min_count < 1:
                raise ValueError("--min_count must be >= 1")
            cfg.min_count = args.min_count
        if args.route_clearance is not None:
            if not args.route_clearance > 0:
                raise ValueError("--route_clearance must be positive (m)")
            cfg.route_clearance = args.route_clearance
        if args.routes < 0:
            raise ValueError("--routes must be >= 0")
    except ValueError as err:
        exit_bad_input(str(err))
    cfg.yaw_deg_override, cfg.size_override = args.yaw_deg, args.size
    cfg.ground_split.choice = args.walkable_ground
    cfg.centre_override = None if args.centre is None else np.asarray(args.centre, float)

    from PIL import Image

    from s2e.rendering.ply import PlyError, load_ply
    from s2e.rendering.splat_file import load_splat
    from s2e.urban.capture import CaptureError, build_capture_bundle, first_person_image, preview_image
    from s2e.urban.mesh_io import MeshError
    from s2e.urban.scene_bundle import SceneBundleError

    t0 = time.time()
    try:
        g = load_splat(capture) if capture.suffix.lower() == ".splat" else load_ply(capture)
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
    print(f"cropped {b.num_cropped} of {result.num_gaussians} Gaussians outside the tile + margin")
    print(f"routes: {len(b.routes)} with {cfg.route_clearance} m clearance  [--routes, --route_clearance]")
    out = Path(args.out)
    Image.fromarray(preview_image(result)).save(out / "preview.png")
    if not args.no_render:
        Image.fromarray(first_person_image(result)).save(out / "first_person.png")
    print(f"wrote {out} in {time.time() - t0:.1f} s; check {out / 'preview.png'}, then use it with: env.scene.terrain.scene_bundle={out}")


if __name__ == "__main__":
    main()
