"""First-person frames of NavBench-GS splits side by side: what a robot's camera sees at episode starts.

    ./isaaclab.sh -p scripts/preview_splits.py                                   # urban and shift, 3 blocks each
    ./isaaclab.sh -p scripts/preview_splits.py --splits shift --scenes 6 --out logs/shift_preview.png

Each row is a split, each column the first episode of one of its blocks (the Empty task's episode file),
rendered from the start pose at the delivery robot's camera height, pitch and field of view, in the split's
appearance family (palettes, sun, sky and ground, haze, white balance): the same pixels the task's camera
renders, at a size people can look at.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from s2e.navbench.splits import SPLITS
from s2e_isaaclab.utils.cli import UserError, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", nargs="+", choices=list(SPLITS), default=list(SPLITS))
    parser.add_argument("--scenes", type=int, default=3, help="blocks per split (columns)")
    parser.add_argument("--size", type=int, nargs=2, default=(192, 256), metavar=("HEIGHT", "WIDTH"))
    parser.add_argument("--out", default="logs/navbench/splits_preview.png")
    args = parser.parse_args()
    if args.scenes < 1 or min(args.size) < 16:
        raise UserError(f"--scenes {args.scenes} --size {args.size}: at least 1 scene and 16 pixels a side")

    import imageio.v3 as iio
    import torch

    from s2e.navbench.episodes import load_suite
    from s2e.rendering import render
    from s2e.rendering.backdrop import fill_backdrop
    from s2e.rendering.cameras import intrinsics_from_fov, mount_rotation, viewmats_from_body
    from s2e.urban.families import appearance_family, family_blocks_gaussians, finish_image
    from s2e.urban.layout import generate_layout
    from s2e.utils.files import atomic_path
    from s2e_isaaclab.robots import DELIVERY_BOT
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import episode_file

    height, width = args.size
    k = intrinsics_from_fov(width, height, 90.0)
    mount = mount_rotation(math.radians(DELIVERY_BOT.camera_pitch_deg))
    rows = []
    for split in args.splits:
        suite = load_suite(episode_file("Empty", "Wheeled", split))
        family = appearance_family(suite.family)
        scenes = suite.scenes[: args.scenes]
        layouts = [generate_layout(family.layout, s.layout_seed) for s in scenes]
        frames = []
        for j, block in enumerate(family_blocks_gaussians(layouts, family)):
            ep = next(e for e in suite.episodes if e.scene == j)
            yaw = ep.start_yaw
            rot = torch.tensor([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
            view = viewmats_from_body(torch.tensor([[*ep.start, 0.1]]), rot[None], torch.tensor(DELIVERY_BOT.camera_offset),
                                      mount)
            out = render(block, view[:, None], k[None, None], width, height, near_plane=0.25)
            rgb, depth = fill_backdrop(out.rgb[:, 0], out.alpha[:, 0], out.depth[:, 0], view, k[None],
                                       torch.tensor(family.sky), torch.tensor(family.ground_plane), 50.0)
            frames.append((finish_image(rgb, depth, family)[0].clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8))
        rows.append(np.concatenate(frames, axis=1))
        print(f"[preview] {split}: {len(frames)} blocks of the {family.name} family", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        iio.imwrite(tmp, np.concatenate(rows, axis=0), extension=".png")
    print(f"[preview] {out}")


if __name__ == "__main__":
    run_main(main)
