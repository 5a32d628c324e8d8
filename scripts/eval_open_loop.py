"""Open-loop metrics of AGDM checkpoints against the straight-to-goal baseline on a held-out dataset.

    ./isaaclab.sh -p scripts/eval_open_loop.py --data logs/demos/S2E-Urban-Wheeled-heldout \
        --model S2E-BC=assets/agdm/agdm_wheeled.pt --model S2E-BC-Single=logs/pretrain/agdm_single/agdm_best.pt

Every trajectory of --data is evaluated (no augmentation; each sample's goal is fixed by its index,
so reruns give the same numbers). Waypoints and goals follow each checkpoint's own settings
(context, image size, waypoint spacing). The baseline drives straight at the goal at --baseline_speed
(default: the dataset's expert speed from dataset.yaml). Writes results.json and results.md (the
table) under --out (default logs/eval_open_loop/<dataset>/<date_time>/) and prints the table.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

import torch

from s2e.utils.errors import exit_bad_input

METRICS = ("minADE", "minFDE", "ADE", "FDE", "MAOE", "speed_err", "anchor_acc", "nll")
UNITS = {"minADE": "m", "minFDE": "m", "ADE": "m", "FDE": "m", "MAOE": "deg", "speed_err": "m/s", "anchor_acc": "",
         "nll": "nats"}


def parse_models(entries: list[str]) -> list[tuple[str, Path]]:
    models = []
    for entry in entries:
        name, sep, path = entry.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--model {entry!r}: expected NAME=PATH, e.g. S2E-BC=assets/agdm/agdm_wheeled.pt")
        models.append((name, Path(path)))
    return models


def held_out(data: Path, model_cfg, goal_range: tuple[float, float], goal_unit: str, batch_size: int):
    """The whole dataset as one deterministic split, shaped like the model's inputs."""
    from torch.utils.data import DataLoader

    from s2e.pretrain.dataset import GNMDataset, GNMDatasetCfg

    cfg = GNMDatasetCfg(path=str(data), context=model_cfg.context, image_size=tuple(model_cfg.image_size),
                        waypoint_dt=model_cfg.waypoint_dt, num_waypoints=model_cfg.num_waypoints, goal_range=goal_range,
                        goal_unit=goal_unit, split="test", test_fraction=1.0, augment=False, preload=True)
    dataset = GNMDataset(cfg)
    return dataset, DataLoader(dataset, batch_size=batch_size, shuffle=False)


def weighted_mean(rows: list[dict]) -> dict[str, float]:
    total = sum(r["count"] for r in rows)
    return ({k: sum(r[k] * r["count"] for r in rows) / max(total, 1) for k in rows[0] if k != "count"}
            | {"samples": total})


def to_markdown(results: dict[str, dict]) -> str:
    head = "| method | " + " | ".join(f"{m} ({UNITS[m]})" if UNITS[m] else m for m in METRICS) + " |"
    lines = [head, "|" + " --- |" * (len(METRICS) + 1)]
    for name, r in results.items():
        cells = [f"{r[m]:.3f}" if m in r else "–" for m in METRICS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a GNM/ViNT-format dataset folder of held-out scenes")
    parser.add_argument("--model", action="append", default=[], help="NAME=CHECKPOINT (repeatable)")
    parser.add_argument("--baseline_speed", type=float, default=None, help="straight-to-goal speed (m/s)")
    parser.add_argument("--goal_range", type=float, nargs=2, default=(2.0, 8.0),
                        help="how far ahead the goal frame is (see --goal_unit)")
    parser.add_argument("--goal_unit", choices=("m", "s", "frames"), default="m",
                        help="unit of --goal_range: metres of path ahead (the default, as in training), seconds or "
                             "frames")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from s2e.models.agdm import AGDMConfig
    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e.nav.baselines import straight_to_goal
    from s2e.pretrain.dataset import DatasetError
    from s2e.pretrain.metrics import model_metrics, trajectory_metrics
    from s2e.utils.files import write_json_atomic, write_text_atomic

    data = Path(args.data)
    try:
        models = [(name, *load_checkpoint(path)) for name, path in parse_models(args.model)]
    except (ValueError, CheckpointError) as err:
        exit_bad_input(str(err))
    results: dict[str, dict] = {}
    try:
        first_cfg = models[0][1].cfg if models else AGDMConfig()  # the baseline uses the first model's waypoint spacing
        dataset, loader = held_out(data, first_cfg, tuple(args.goal_range), args.goal_unit, args.batch_size)
        speed = args.baseline_speed or float(dataset.cfg.meta.get("expert", {}).get("speed", 1.0))
        rows = [trajectory_metrics(straight_to_goal(b["goal"], speed, first_cfg.num_waypoints, first_cfg.waypoint_dt),
                                   b["metric_waypoints"]) for b in loader]
        results[f"straight to goal ({speed:.2f} m/s)"] = weighted_mean(rows)
        print(f"[open-loop] {dataset}", flush=True)
        for name, model, _meta in models:
            if name in results:
                exit_bad_input(f"--model name {name!r} is used twice")
            _, loader = held_out(data, model.cfg, tuple(args.goal_range), args.goal_unit, args.batch_size)
            model.eval()
            with torch.no_grad():
                rows = [model_metrics(model, b) for b in loader]
            results[name] = weighted_mean(rows)
            print(f"[open-loop] {name}: ADE {results[name]['ADE']:.3f} m, minADE {results[name]['minADE']:.3f} m",
                  flush=True)
    except DatasetError as err:
        exit_bad_input(str(err))
    table = to_markdown(results)
    out = (Path(args.out) if args.out else Path("logs/eval_open_loop") / data.name
           / datetime.now().strftime("%Y-%m-%d_%H-%M-%S"))
    write_json_atomic(out / "results.json", {"data": str(data), "samples": results[next(iter(results))]["samples"],
                                             "goal_range": list(args.goal_range), "goal_unit": args.goal_unit,
                                             "models": {n: str(p) for n, p in parse_models(args.model)},
                                             "results": results,
                                             "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])})
    write_text_atomic(out / "results.md", table + "\n")
    print(table)
    print(f"[open-loop] results in {out}")


if __name__ == "__main__":
    main()
