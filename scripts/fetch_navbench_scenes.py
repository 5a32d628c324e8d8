"""Fetch the real captured scenes of NavBench-GS and assemble their scene bundles (s2e.navbench.real_scenes).

    ./isaaclab.sh -p scripts/fetch_navbench_scenes.py                     # every scene of the manifest
    ./isaaclab.sh -p scripts/fetch_navbench_scenes.py --scenes hq_garden
    ./isaaclab.sh -p scripts/fetch_navbench_scenes.py --remake hq_garden  # maintainers: re-derive its reviewed files

Downloads each capture from its source at the manifest's pinned commit into --cache (once; files whose
sha256 matches are reused), checks every file's hash, and writes <out>/<name>/: the capture's Gaussians
under the scene's reviewed bundle files (assets/navbench/real/scenes/<name>/). Offline, or when a source's
file changed, it stops with one line and keeps nothing it could not verify. --remake runs the capture tool
with the manifest's settings instead and writes its bundle.yaml and collision mesh to the reviewed folder,
with preview.png and first_person.png in the bundle to review before committing them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from s2e.utils.errors import exit_bad_input

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "navbench" / "real"


def main() -> None:
    parser = argparse.ArgumentParser(description="Fetch NavBench-GS's real captured scenes and assemble their scene "
                                                 "bundles.")
    parser.add_argument("--manifest", default=str(ASSETS / "manifest.yaml"), help="the real-scene manifest")
    parser.add_argument("--scenes", nargs="+", default=None, help="scene names (default: all in the manifest)")
    parser.add_argument("--out", default=str(ASSETS / "bundles"), help="bundles are written to <out>/<name>/")
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "s2e" / "navbench_scenes"),
                        help="downloaded captures")
    parser.add_argument("--base_url", default=None,
                        help="where the sources are served (default: raw.githubusercontent.com)")
    parser.add_argument("--remake", nargs="+", default=None, metavar="NAME",
                        help="maintainers: re-derive these scenes' reviewed files with the capture tool (then review "
                             "and commit)")
    args = parser.parse_args()

    from s2e.navbench.real_scenes import (
        DEFAULT_BASE_URL,
        SceneFetchError,
        assemble_scene,
        derived_dir,
        download_scene,
        load_manifest,
        remake_scene,
    )
    from s2e.rendering.ply import PlyError
    from s2e.urban.capture import CaptureError, capture_cfg
    from s2e.urban.mesh_io import MeshError
    from s2e.urban.scene_bundle import SceneBundleError, load_scene_bundle

    try:
        scenes = load_manifest(args.manifest)
        known = {s.name for s in scenes}
        unknown = sorted((set(args.scenes or ()) | set(args.remake or ())) - known)
        if unknown:
            raise SceneFetchError(f"no scene '{unknown[0]}' in {args.manifest}; it has "
                                  f"{', '.join(sorted(known)) or 'none'}")
        names = args.remake or args.scenes
        chosen = [s for s in scenes if names is None or s.name in names]
        cfgs = {s.name: capture_cfg(s.bundle) for s in chosen}  # every entry's settings checked before any download
    except (SceneFetchError, ValueError) as err:
        exit_bad_input(str(err))
    for scene in chosen:
        t0 = time.time()
        out = Path(args.out) / scene.name
        try:
            capture = download_scene(scene, args.cache, args.base_url or DEFAULT_BASE_URL)
            if args.remake:
                result = remake_scene(scene, capture, cfgs[scene.name], out, derived_dir(args.manifest, scene))
                budget = ("" if result.budget is None
                          else f"; {result.budget.line(result.num_kept, result.num_gaussians)}")
                line = (f"; remade {derived_dir(args.manifest, scene)} (review {out / 'preview.png'} and "
                        f"{out / 'first_person.png'}, then commit){budget}")
            else:
                assemble_scene(scene, capture, derived_dir(args.manifest, scene), out)
                line = ""
            b = load_scene_bundle(out, route_clearance=cfgs[scene.name].route_clearance)
        except (SceneFetchError, CaptureError, PlyError, MeshError, SceneBundleError) as err:
            exit_bad_input(str(err) if str(err).startswith(scene.name) else f"{scene.name}: {err}")
        print(f"[real] {scene.name}: {b.gaussians.num_gaussians:,} Gaussians in its {b.size:g} m tile, {len(b.routes)} "
              f"routes, {int(b.layout.walkable.sum() * b.layout.resolution ** 2)} m^2 walkable -> {out} "
              f"({time.time() - t0:.0f} s){line}; {scene.attribution}")


if __name__ == "__main__":
    main()
