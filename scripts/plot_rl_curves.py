"""Overlay the learning curves of train_ram.py runs: reward, SR / CT over the last 100 episodes, value loss.

    ./isaaclab.sh -p scripts/plot_rl_curves.py logs/rsl_rl/s2e_ram_wheeled/<run> [<run> ...] --out curves.png
    ./isaaclab.sh -p scripts/plot_rl_curves.py <run_a> <run_b> --labels "speed in density" "speed_std=0"

(train_ram.py already writes <run>/curves.png for its own run.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from s2e.rl.curves import CurvesError, save_run_curves
from s2e_isaaclab.utils.cli import UserError, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="run folders (logs/rsl_rl/<experiment>/<date_time>[_<name>])")
    parser.add_argument("--labels", nargs="+", default=None,
                        help="one legend label per run (default: the folder names)")
    parser.add_argument("--out", default="rl_curves.png")
    parser.add_argument("--title", default=None)
    args = parser.parse_args()
    labels = args.labels or [Path(r).name for r in args.runs]
    if len(labels) != len(args.runs):
        raise UserError(f"{len(labels)} labels for {len(args.runs)} runs: give one --labels entry per run")
    try:
        out = save_run_curves(dict(zip(labels, args.runs)), args.out, title=args.title)
    except CurvesError as err:
        raise UserError(str(err)) from None
    print(f"[plot_rl_curves] wrote {out}")


if __name__ == "__main__":
    run_main(main)
