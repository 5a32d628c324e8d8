"""Images per second of the Gaussian-splat rasterizer backends on an urban block.

    ./isaaclab.sh -p scripts/benchmark_render.py                       # suite in configs/benchmark_render.yaml
    ./isaaclab.sh -p scripts/benchmark_render.py --resolutions 64 --num_gaussians 50000 --num_cameras 16
    ./isaaclab.sh -p scripts/benchmark_render.py --baseline HEAD~1 --stages   # against older kernels; stage times

The scene is a procedural block's Gaussians (s2e.urban.appearance), thinned or densified
to the requested count; cameras stand on the sidewalks at robot height looking along the street,
as the robots' cameras do, with the task camera's settings (anti-aliased, near plane 0.25 m);
`cpu+cull` is the CPU rasterizer with the frustum culling the task's camera uses. After a warm-up (the first CPU call
compiles the kernels; gsplat compiles its CUDA code on first use) a row's backends are timed in turn, `--rounds`
times, each timing at least `--repeats` calls and `--min_seconds`; a backend's figure is its best round.
Every available backend runs on the same scenes and cameras, so their ratio is measured in one run; `--baseline REV`
adds the CPU backends of s2e.rendering at a git revision to the same run. The suite ends with a real capture
(configs/benchmark_render.yaml: a scene of the real-scene manifest with cameras on its routes, or a procedural block of
its size when its bundle is not assembled). Prints a table and writes logs/benchmark/benchmark_render.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
import yaml

import s2e.rendering as rendering
import s2e.rendering.culling  # noqa: F401  (rendering.culling, as on a baseline package)
from s2e.rendering import GaussianScene
from s2e.rendering.backends import CPU_STAGES, gsplat_available, render_cpu
from s2e.rendering.cameras import intrinsics_from_fov, look_at
from s2e.urban.appearance import urban_scene_gaussians
from s2e.urban.layout import UrbanLayoutCfg, generate_layout
from s2e.utils.errors import exit_bad_input
from s2e.utils.files import write_json_atomic
from s2e.utils.machine import describe_machine
from s2e.utils.revision_import import RevisionImportError, import_package_at

ROOT = Path(__file__).resolve().parents[1]
SUITE = yaml.safe_load((ROOT / "configs/benchmark_render.yaml").read_text())
REAL = ROOT / "assets" / "navbench" / "real"
TASK_CAMERA = dict(antialiased=True, near_plane=0.25)
"""The task camera's rasterizer settings, for every backend and the stage times."""


def scene_with(n: int, seed: int = 0) -> tuple[GaussianScene, np.ndarray]:
    """A block's Gaussians resized to n (random subset, or jittered copies at half scale), and its sidewalk rects."""
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = 1.5
    layout = generate_layout(cfg, seed)
    scene = urban_scene_gaussians(layout, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    if n <= scene.num_gaussians:
        return scene.select(torch.randperm(scene.num_gaussians, generator=gen)[:n]), layout.walk_rects
    parts = [scene]
    while sum(p.num_gaussians for p in parts) < n:
        jitter = (torch.rand(scene.means.shape, generator=gen) - 0.5) * scene.scales
        parts.append(GaussianScene(scene.means + jitter, scene.quats, scene.scales * 0.7, scene.opacities, scene.sh))
    return GaussianScene.cat(parts).select(slice(0, n)), layout.walk_rects


def cameras(walk_rects: np.ndarray, count: int, seed: int = 0) -> torch.Tensor:
    """View matrices [count, 4, 4] at 0.5 m on the sidewalks, looking along the longer side of the rect."""
    rng = np.random.default_rng(seed)
    views = []
    for i in range(count):
        x0, y0, x1, y1 = walk_rects[i % len(walk_rects)]
        eye = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1), 0.5])
        along = np.array([1.0, 0.0]) if (x1 - x0) >= (y1 - y0) else np.array([0.0, 1.0])
        along *= rng.choice([-1.0, 1.0])
        target = eye + np.array([along[0] * 10, along[1] * 10, -0.8])
        views.append(look_at(eye.tolist(), target.tolist()))
    return torch.stack(views)


def manifest_scene(name: str):
    """The real-scene manifest's entry `name` (one line and exit 2 when there is none)."""
    from s2e.navbench.real_scenes import load_manifest

    scenes = {s.name: s for s in load_manifest(REAL / "manifest.yaml")}
    if name not in scenes:
        exit_bad_input(f"--real_capture {name}: no such scene in {REAL / 'manifest.yaml'}; choose one of "
                       f"{', '.join(sorted(scenes))} or 'none'")
    return scenes[name]


def real_capture_row(name: str, count: int, seed: int = 0) -> tuple[str, GaussianScene, torch.Tensor]:
    """The manifest scene's Gaussians and `count` views at 0.5 m from its routes' starts towards their next point;
    without its bundle, a procedural block of the same Gaussian count and sidewalk views (the label says which)."""
    from s2e.urban.scene_bundle import load_scene_bundle

    folder = REAL / "bundles" / name
    if not (folder / "bundle.yaml").is_file():
        scene, rects = scene_with(int(manifest_scene(name).bundle["max_gaussians"]), seed)
        return f"{name} stand-in (procedural; no bundle)", scene, cameras(rects, count, seed)
    bundle = load_scene_bundle(folder)
    views = []
    for i in range(count):
        route = bundle.routes[i % len(bundle.routes)]
        start, ahead = route.points[0], route.points[1]
        eye = np.array([start[0], start[1], 0.5])
        along = (ahead - start) / max(float(np.linalg.norm(ahead - start)), 1e-6)
        views.append(look_at(eye.tolist(), (eye + np.array([along[0] * 10, along[1] * 10, -0.8])).tolist()))
    return name, bundle.gaussians, torch.stack(views)


def backend_call(backend: str, scene: GaussianScene, views: torch.Tensor, ks: torch.Tensor, size: int,
                 baseline: ModuleType | None = None) -> Callable[[], None]:
    """One render of all `views` by `backend`, synchronized on CUDA: 'cpu+cull' is the CPU rasterizer with frustum
    culling, as the task's camera runs it (its grid is built here, outside the timing). A name ending in '@<rev>'
    runs the `baseline` package (s2e.rendering at that revision) instead of today's."""
    pkg = baseline if "@" in backend else rendering
    backend = backend.split("@")[0]
    if pkg is not rendering:
        scene = pkg.GaussianScene(scene.means, scene.quats, scene.scales, scene.opacities, scene.sh)
    sync = torch.cuda.synchronize if scene.device.type == "cuda" else (lambda: None)
    culler = pkg.culling.FrustumCuller(scene) if backend == "cpu+cull" else None
    kwargs = dict(culler=culler, **TASK_CAMERA)

    def call() -> None:
        pkg.render(scene, views, ks, size, size, backend="gsplat" if backend == "gsplat" else "cpu", **kwargs)
        sync()
    return call


def images_per_second(call: Callable[[], None], num_images: int, repeats: int, min_seconds: float) -> float:
    """Images/s over at least `repeats` calls and at least `min_seconds` (a call of a few milliseconds timed five
    times says more about the timer and the threads waking than about the kernels)."""
    calls, t0 = 0, time.perf_counter()
    while calls < repeats or time.perf_counter() - t0 < min_seconds:
        call()
        calls += 1
    return calls * num_images / (time.perf_counter() - t0)


def stage_times(scene: GaussianScene, views: torch.Tensor, ks: torch.Tensor, size: int, cull: bool,
                repeats: int) -> dict[str, float]:
    """Today's CPU rasterizer's ms per call, stage by stage (CPU_STAGES), mean of `repeats` calls."""
    culler = rendering.culling.FrustumCuller(scene) if cull else None
    times: dict[str, float] = {}
    for _ in range(repeats):
        render_cpu(scene, views, ks, size, size, stage_times=times, culler=culler, **TASK_CAMERA)
    return {stage: t * 1e3 / repeats for stage, t in times.items()}


def _row_cells(r: dict) -> list[str]:
    """A result row's first table cells: scene, Gaussians, resolution, cameras."""
    return [r["scene"], f"{r['num_gaussians'] // 1000}k", f"{r['resolution']}x{r['resolution']}", str(r["num_cameras"])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", nargs="+", type=int, default=SUITE["resolutions"])
    parser.add_argument("--num_gaussians", nargs="+", type=int, default=SUITE["num_gaussians"])
    parser.add_argument("--num_cameras", nargs="+", type=int, default=SUITE["num_cameras"])
    parser.add_argument("--repeats", type=int, default=SUITE["repeats"])
    parser.add_argument("--warmup", type=int, default=SUITE["warmup"])
    parser.add_argument("--min_seconds", type=float, default=SUITE["min_seconds"],
                        help="each timing runs at least this long (and at least --repeats calls)")
    parser.add_argument("--rounds", type=int, default=SUITE["rounds"],
                        help="the backends of a row are timed in turn this many times; each keeps its best round")
    parser.add_argument("--backends", nargs="+", choices=("cpu", "cpu+cull", "gsplat"), default=None,
                        help="default: cpu and cpu+cull (frustum culling), plus gsplat when CUDA is available")
    parser.add_argument("--real_capture", default=SUITE["real_capture"]["scene"],
                        help="the real-capture row's scene (a name in assets/navbench/real/manifest.yaml), or 'none'")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also time the CPU backends of s2e.rendering at this git revision (e.g. HEAD~1), same "
                             "scenes, same process, and report today's / the baseline's images/s")
    parser.add_argument("--stages", action="store_true",
                        help="also print where each image's time goes, stage by stage (today's CPU backends)")
    parser.add_argument("--out", default="logs/benchmark/benchmark_render.json")
    args = parser.parse_args()
    backends = args.backends or (["cpu", "cpu+cull", "gsplat"] if gsplat_available() else ["cpu", "cpu+cull"])
    if "gsplat" in backends and not gsplat_available():
        exit_bad_input("backend gsplat needs a CUDA GPU and the gsplat package; run with --backends cpu")
    baseline, ratios = None, [(a, b) for a, b in (("cpu+cull", "cpu"), ("gsplat", "cpu"))
                              if a in backends and b in backends]
    if args.baseline:
        try:
            baseline = import_package_at(ROOT, args.baseline, "source/s2e/s2e", "rendering")
        except RevisionImportError as err:
            exit_bad_input(str(err))
        old = [f"{b}@{args.baseline}" for b in backends if b != "gsplat"]
        ratios += [(b.split("@")[0], b) for b in old]
        backends = backends + old
    rows = [("procedural", n, r, c) for n in args.num_gaussians for r in args.resolutions for c in args.num_cameras]
    if args.real_capture != "none":
        manifest_scene(args.real_capture)
        rows.append(("real", args.real_capture, SUITE["real_capture"]["resolution"],
                     SUITE["real_capture"]["num_cameras"]))
    results, t0 = [], time.time()
    for k, (kind, what, size, count) in enumerate(rows):
        if kind == "real":
            label, scene, views = real_capture_row(what, count)
        else:
            (scene, rects), label = scene_with(what), "procedural"
            views = cameras(rects, count)
        ks = intrinsics_from_fov(size, size, 90.0).expand(count, 3, 3)
        row = {"scene": label, "num_gaussians": scene.num_gaussians, "resolution": size, "num_cameras": count,
               "stages_ms": {}}
        calls = {}
        for backend in backends:
            dev = "cuda" if backend == "gsplat" else "cpu"
            calls[backend] = backend_call(backend, scene.to(dev), views.to(dev), ks.to(dev), size, baseline)
            for _ in range(args.warmup):  # the first CPU call compiles the kernels; gsplat compiles on first use
                calls[backend]()
        for _ in range(args.rounds):  # backends take turns, so that a busy moment of the machine hits them alike
            for backend in backends:
                rate = images_per_second(calls[backend], count, args.repeats, args.min_seconds)
                row[backend] = max(row.get(backend, 0.0), rate)
        if args.stages:
            for backend in ("cpu", "cpu+cull"):
                if backend in backends:
                    row["stages_ms"][backend] = stage_times(scene, views, ks, size, backend == "cpu+cull",
                                                            args.repeats)
        results.append(row)
        eta = (time.time() - t0) / (k + 1) * (len(rows) - k - 1)
        figures = "  ".join(f"{b} {row[b]:8.1f} img/s" for b in backends)
        print(f"[render] {k + 1}/{len(rows)} {label} {row['num_gaussians']:7d} Gaussians {size:3d}x{size:<3d} "
              f"{count:2d} cameras: {figures}  (ETA {eta:.0f} s)", flush=True)
    info = {"machine": describe_machine(), "torch_threads": torch.get_num_threads(), "command": " ".join(sys.argv),
            "results": results}
    out = write_json_atomic(args.out, info)
    print(f"\nImages/s on {info['machine']}")
    header = ("| scene | Gaussians | resolution | cameras | " + " | ".join(backends + [f"{a} / {b}" for a, b in ratios])
              + " |")
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for r in results:
        cells = _row_cells(r) + [f"{r[b]:.1f}" for b in backends]
        cells += [f"{r[a] / r[b]:.2f}x" for a, b in ratios]
        print("| " + " | ".join(cells) + " |")
    if args.stages:
        print("\nMilliseconds per call (all cameras of a row), stage by stage (s2e.rendering.backends.CPU_STAGES):")
        print("| scene | Gaussians | resolution | cameras | backend | " + " | ".join(CPU_STAGES) + " | images/s |")
        print("|" + " --- |" * (len(CPU_STAGES) + 6))
        for r in results:
            for backend, stages in r["stages_ms"].items():
                cells = _row_cells(r) + [backend] + [f"{stages.get(s, 0.0):.1f}" for s in CPU_STAGES]
                print("| " + " | ".join(cells) + f" | {r[backend]:.1f} |")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
