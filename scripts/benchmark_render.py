"""Images per second of the Gaussian-splat rasterizer backends on an urban block.

    ./isaaclab.sh -p scripts/benchmark_render.py                       # suite in configs/benchmark_render.yaml
    ./isaaclab.sh -p scripts/benchmark_render.py --resolutions 64 --num_gaussians 50000 --num_cameras 16

The scene is a procedural block's Gaussians (s2e.urban.appearance), thinned or densified
to the requested count; cameras stand on the sidewalks at robot height looking along the street,
as the robots' cameras do, with the task camera's settings (anti-aliased, near plane 0.25 m);
`cpu+cull` is the CPU rasterizer with the frustum culling the task's camera uses. Each configuration is rendered
`--repeats` times after a warm-up (the first CPU call compiles the kernels; gsplat compiles its CUDA code on first use).
Every available backend runs on the same scenes and cameras, so their ratio is measured in one run. Prints a table
and writes logs/benchmark/benchmark_render.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from s2e.rendering import GaussianScene, render
from s2e.rendering.backends import gsplat_available
from s2e.rendering.cameras import intrinsics_from_fov, look_at
from s2e.rendering.culling import FrustumCuller
from s2e.urban.appearance import urban_scene_gaussians
from s2e.urban.layout import UrbanLayoutCfg, generate_layout
from s2e.utils.errors import exit_bad_input
from s2e.utils.files import write_json_atomic
from s2e.utils.machine import describe_machine

SUITE = yaml.safe_load((Path(__file__).resolve().parents[1] / "configs/benchmark_render.yaml").read_text())


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


def time_backend(backend: str, scene: GaussianScene, views: torch.Tensor, ks: torch.Tensor, size: int,
                 repeats: int, warmup: int) -> float:
    """Images per second of one backend (synchronized on CUDA); 'cpu+cull' is the CPU rasterizer with
    frustum culling, as the task's camera runs it (its grid is built once, outside the timing)."""
    sync = torch.cuda.synchronize if scene.device.type == "cuda" else (lambda: None)
    culler = FrustumCuller(scene) if backend == "cpu+cull" else None
    backend = "cpu" if culler is not None else backend
    kwargs = dict(backend=backend, culler=culler, antialiased=True, near_plane=0.25)  # the task camera's settings
    for _ in range(warmup):
        render(scene, views, ks, size, size, **kwargs)
    sync()
    t0 = time.perf_counter()
    for _ in range(repeats):
        render(scene, views, ks, size, size, **kwargs)
    sync()
    return repeats * views.shape[0] / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolutions", nargs="+", type=int, default=SUITE["resolutions"])
    parser.add_argument("--num_gaussians", nargs="+", type=int, default=SUITE["num_gaussians"])
    parser.add_argument("--num_cameras", nargs="+", type=int, default=SUITE["num_cameras"])
    parser.add_argument("--repeats", type=int, default=SUITE["repeats"])
    parser.add_argument("--warmup", type=int, default=SUITE["warmup"])
    parser.add_argument("--backends", nargs="+", choices=("cpu", "cpu+cull", "gsplat"), default=None,
                        help="default: cpu and cpu+cull (frustum culling), plus gsplat when CUDA is available")
    parser.add_argument("--out", default="logs/benchmark/benchmark_render.json")
    args = parser.parse_args()
    backends = args.backends or (["cpu", "cpu+cull", "gsplat"] if gsplat_available() else ["cpu", "cpu+cull"])
    if "gsplat" in backends and not gsplat_available():
        exit_bad_input("backend gsplat needs a CUDA GPU and the gsplat package; run with --backends cpu")
    configs = [(n, r, c) for n in args.num_gaussians for r in args.resolutions for c in args.num_cameras]
    results, t0 = [], time.time()
    for k, (n, size, count) in enumerate(configs):
        scene, rects = scene_with(n)
        views = cameras(rects, count)
        ks = intrinsics_from_fov(size, size, 90.0).expand(count, 3, 3)
        row = {"num_gaussians": n, "resolution": size, "num_cameras": count}
        for backend in backends:
            dev = "cuda" if backend == "gsplat" else "cpu"
            row[backend] = time_backend(backend, scene.to(dev), views.to(dev), ks.to(dev), size, args.repeats,
                                        args.warmup)
        results.append(row)
        eta = (time.time() - t0) / (k + 1) * (len(configs) - k - 1)
        figures = "  ".join(f"{b} {row[b]:8.1f} img/s" for b in backends)
        print(f"[render] {k + 1}/{len(configs)} {n:7d} Gaussians {size:3d}x{size:<3d} {count:2d} cameras: {figures}  "
              f"(ETA {eta:.0f} s)",
              flush=True)
    info = {"machine": describe_machine(), "torch_threads": torch.get_num_threads(), "command": " ".join(sys.argv),
            "results": results}
    out = write_json_atomic(args.out, info)
    print(f"\nImages/s on {info['machine']}")
    ratios = [(a, b) for a, b in (("cpu+cull", "cpu"), ("gsplat", "cpu")) if a in backends and b in backends]
    header = "| Gaussians | resolution | cameras | " + " | ".join(backends + [f"{a} / {b}" for a, b in ratios]) + " |"
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for r in results:
        cells = [f"{r['num_gaussians'] // 1000}k", f"{r['resolution']}x{r['resolution']}", str(r["num_cameras"])]
        cells += [f"{r[b]:.1f}" for b in backends]
        cells += [f"{r[a] / r[b]:.2f}x" for a, b in ratios]
        print("| " + " | ".join(cells) + " |")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
