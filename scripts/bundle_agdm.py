"""Ship a pretrained AGDM checkpoint: copy it into assets/ with a sidecar JSON saying how it was made.

    ./isaaclab.sh -p scripts/bundle_agdm.py --checkpoint logs/pretrain/agdm_wheeled/agdm_best.pt \
        --out assets/agdm/agdm_wheeled.pt --open_loop logs/eval_open_loop/.../results.json \
        --closed_loop logs/eval_agdm/S2E-Urban-Wheeled/.../results.json

The checkpoint is validated (loaded) and copied byte for byte; the sidecar `<out>.json` holds its
sha256, the pretraining command, config and provenance, a summary of every dataset it was trained
on (from their dataset.yaml: frames, trajectories, the collection commands), the given open- and
closed-loop results, and the measured CPU inference rate (one thread, one decision = k frames +
goal -> mixture). Both files are written atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import time
from pathlib import Path

import torch

from s2e.utils.errors import exit_bad_input

ROOT = Path(__file__).resolve().parents[1]


def decisions_per_second(model, seconds: float = 3.0) -> float:
    """Full forward passes (k new frames each, no feature cache) per second on one CPU thread, batch 1."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cfg = model.cfg
    images = torch.rand(1, cfg.context, 3, *cfg.image_size)
    goal = torch.tensor([[10.0, 2.0]])
    try:
        with torch.no_grad():
            for _ in range(3):
                model(images, goal).action("best")
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                model(images, goal).action("best")
                n += 1
        return n / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)


def dataset_summary(path: str) -> dict:
    import yaml

    root = Path(path) if Path(path).is_absolute() else ROOT / path
    meta_file = root / "dataset.yaml"
    if not meta_file.is_file():
        return {"path": path, "note": "no dataset.yaml"}
    meta = yaml.safe_load(meta_file.read_text()) or {}
    keep = ("task", "robot", "control_mode", "content", "frame_dt", "frames", "trajectories", "camera", "expert",
            "perturbation", "start_yaw_noise")
    runs = [{k: r.get(k) for k in ("command", "seed", "content", "frames", "trajectories", "wall_time_s", "created")}
            for r in meta.get("runs", [])]
    return {"path": path, **{k: meta[k] for k in keep if k in meta}, "runs": runs}


def read_json(path: str | None, what: str) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        exit_bad_input(f"--{what} {path}: unreadable results file ({err})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--out", required=True,
                        help="where the shipped checkpoint goes (e.g. assets/agdm/agdm_wheeled.pt)")
    parser.add_argument("--open_loop", default=None, help="results.json of scripts/eval_open_loop.py")
    parser.add_argument("--closed_loop", default=None, help="results.json of scripts/eval_agdm.py")
    args = parser.parse_args()

    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e.utils.files import atomic_path, write_json_atomic
    from s2e.utils.machine import describe_machine

    try:
        model, meta = load_checkpoint(args.checkpoint)
    except CheckpointError as err:
        exit_bad_input(str(err))
    open_loop, closed_loop = read_json(args.open_loop, "open_loop"), read_json(args.closed_loop, "closed_loop")
    out = Path(args.out)
    with atomic_path(out) as tmp:
        shutil.copyfile(args.checkpoint, tmp)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    prov = dict(meta.get("provenance", {}))
    rate = decisions_per_second(model)
    sidecar = {
        "checkpoint": out.name,
        "sha256": digest,
        "bytes": out.stat().st_size,
        "parameters": sum(p.numel() for p in model.parameters()),
        "model_config": meta.get("config"),
        "pretrain": {k: prov.get(k) for k in ("command", "git_commit", "date", "iterations", "train_samples",
                                              "heldout_samples", "metrics", "config")},
        "data": [dataset_summary(d["path"]) for d in prov.get("data", []) if isinstance(d, dict) and "path" in d],
        "open_loop": open_loop,
        "closed_loop": closed_loop,
        "inference": {"decisions_per_s_one_thread": round(rate, 1), "machine": describe_machine()},
        "bundled_from": str(args.checkpoint),
    }
    write_json_atomic(out.with_suffix(".json"), sidecar)
    print(f"[bundle] {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {digest[:12]}), {rate:.0f} decisions/s on one "
          f"thread; sidecar {out.with_suffix('.json')}")


if __name__ == "__main__":
    main()
