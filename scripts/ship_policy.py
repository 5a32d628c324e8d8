"""Ship a fine-tuned policy for users: a train_ram.py checkpoint, slimmed, beside the AGDM checkpoint it came from.

    ./isaaclab.sh -p scripts/ship_policy.py logs/rsl_rl/s2e_ram_wheeled/<run>/model_29.pt --name s2e_ram_wheeled \
        --comparison logs/compare/<run>/comparison.json --command "train_ram.py ..." --train_seed 0 --recipe labels

Writes assets/agdm/<name>.pt (the actor's weights; it names its AGDM checkpoint by file name, so both
ship together) and <name>.json (command, seeds, held-out figures from the comparison, sha256). The file
loads wherever a policy file is accepted: compare_policies.py --a/--b, eval_navbench.py --method agdm
--checkpoint, and s2e.rl.trained_policy.load_policy_model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from s2e_isaaclab.utils.cli import UserError, run_main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="the run's checkpoint to ship (model_<it>.pt or best.pt)")
    parser.add_argument("--name", required=True, help="file name without .pt, e.g. s2e_ram_wheeled")
    parser.add_argument("--agdm", default=None,
                        help="the AGDM checkpoint it was fine-tuned from, where the policy ships "
                                                     "(default: the bundled assets/agdm/agdm_wheeled.pt)")
    parser.add_argument("--comparison", default=None,
                        help="compare_policies.py's comparison.json of this checkpoint (held-out figures)")
    parser.add_argument("--command", default="", help="the training command")
    parser.add_argument("--train_seed", type=int, default=None)
    parser.add_argument("--recipe", default="")
    args = parser.parse_args()
    if "/" in args.name or args.name.startswith("."):
        raise UserError(f"--name {args.name!r} is a file name: no '/' and no leading '.'")
    if not Path(args.model).is_file():
        raise UserError(f"{args.model} not found: pass a model_<it>.pt of a train_ram.py run")
    from s2e.rl.runner import RunnerCheckpointError
    from s2e.rl.trained_policy import ship_policy
    from s2e_isaaclab.utils.checkpoints import agdm_checkpoint

    agdm = Path(agdm_checkpoint(args.agdm, flag="--agdm"))
    held_out = None
    if args.comparison:
        try:
            held_out = json.loads(Path(args.comparison).read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise UserError(f"--comparison {args.comparison}: not a readable comparison.json ({err})") from None
    sidecar = {"recipe": args.recipe, "command": args.command, "train_seed": args.train_seed, "held_out": held_out}
    try:
        meta = ship_policy(args.model, agdm.parent / f"{args.name}.pt", agdm, sidecar)
    except RunnerCheckpointError as err:
        raise UserError(str(err)) from None
    print(f"[ship_policy] wrote {agdm.parent / meta['policy']} ({meta['bytes']} bytes, sha256 "
          f"{meta['sha256'][:16]}...) and its sidecar")


if __name__ == "__main__":
    run_main(main)
