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

    from s2e.navbench.episodes import load_suite
    from s2e.navbench.views import ViewCfg, split_views
    from s2e.utils.files import atomic_path
    from s2e_isaaclab.robots import DELIVERY_BOT
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import episode_file

    cfg = ViewCfg(height=args.size[0], width=args.size[1], camera_offset=DELIVERY_BOT.camera_offset,
                  pitch_deg=DELIVERY_BOT.camera_pitch_deg)
    rows = []
    for split in args.splits:
        views = split_views(load_suite(episode_file("Empty", "Wheeled", split)), cfg, scenes=args.scenes)
        rows.append(np.concatenate(list(views.numpy()), axis=1))
        print(f"[preview] {split}: {len(views)} blocks", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        iio.imwrite(tmp, np.concatenate(rows, axis=0), extension=".png")
    print(f"[preview] {out}")


if __name__ == "__main__":
    run_main(main)
