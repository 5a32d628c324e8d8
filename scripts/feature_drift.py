"""Feature drift Δ_feat of fine-tuned policies against the pretrained AGDM on a NavBench-GS split's views.

    ./isaaclab.sh -p scripts/feature_drift.py --policies RL-Full=logs/rsl_rl/s2e_ram_wheeled/<run>/model_9.pt \
        SFT=logs/pretrain/sft_obstacles/agdm.pt S2E-RAM=logs/rsl_rl/s2e_ram_wheeled/<run>/model_20.pt --split shift

Renders the split's blocks from points along its episodes' routes (s2e.navbench.views: the task camera's pixels
without a simulator), encodes every view with each policy's visual encoder and the reference's, and prints and
writes (<out>/feature_drift_<split>.json / .md) Δ_feat = ‖mean F_tuned − mean F_pre‖ per policy, with the
reference encoder's mean feature norm for scale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from s2e.navbench.splits import DEFAULT_SPLIT, SPLITS
from s2e_isaaclab.utils.cli import UserError, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policies", nargs="+", required=True, metavar="NAME=FILE",
                        help="fine-tuned policies: AGDM checkpoints, shipped policies or train_ram.py checkpoints")
    parser.add_argument("--reference", default=None, help="the pretrained AGDM (default: the bundled one)")
    parser.add_argument("--split", choices=list(SPLITS), default=DEFAULT_SPLIT)
    parser.add_argument("--views_per_episode", type=int, default=4)
    parser.add_argument("--out", default="logs/navbench")
    args = parser.parse_args()
    pairs = [p.partition("=") for p in args.policies]
    if any(not sep or not name or not Path(path).is_file() for name, sep, path in pairs):
        raise UserError(f"--policies {' '.join(args.policies)}: give NAME=FILE with existing files")
    if args.views_per_episode < 1:
        raise UserError(f"--views_per_episode {args.views_per_episode}: at least 1")

    from s2e.navbench.episodes import load_suite
    from s2e.navbench.feature_drift import drift_table, feature_drift, frame_features
    from s2e.navbench.views import ViewCfg, split_views
    from s2e.utils.files import write_json_atomic, write_text_atomic
    from s2e_isaaclab.evaluation.models import load_policy
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import episode_file
    from s2e_isaaclab.utils.checkpoints import agdm_checkpoint

    reference, _ = load_policy(agdm_checkpoint(args.reference, flag="--reference"))
    cfg = reference.cfg
    frames = split_views(load_suite(episode_file("Empty", "Wheeled", args.split)),
                         ViewCfg(height=cfg.image_size[0], width=cfg.image_size[1]),
                         views_per_episode=args.views_per_episode)
    scale = float(frame_features(reference, frames).mean(0).norm())
    rows = {name: feature_drift(reference, load_policy(path)[0], frames) for name, _, path in pairs}
    out = Path(args.out)
    result = {"split": args.split, "views": len(frames), "reference_mean_norm": scale, "drift": rows}
    write_json_atomic(out / f"feature_drift_{args.split}.json", result)
    table = drift_table(result)
    write_text_atomic(out / f"feature_drift_{args.split}.md", table)
    print(table, end="")


if __name__ == "__main__":
    run_main(main)
