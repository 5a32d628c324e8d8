"""Run by test_rl_runner under torchrun: a few PPO iterations of the S2E runner on the fake env,
each rank with its own env seed; every rank saves its final actor parameters to <out>/rank_<r>.pt."""

import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))

from test_rl_runner import make_runner  # noqa: E402


def main(checkpoint: str, out: str) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ["RANK"])
    runner = make_runner(checkpoint, seed=rank, log_dir=os.path.join(out, "run"))
    assert runner.is_distributed and runner.gpu_world_size == 2
    before = {k: v.clone() for k, v in runner.alg.actor.state_dict().items()}
    runner.learn(2)
    after = runner.alg.actor.state_dict()
    torch.save({"after": after, "changed": [k for k in after if not torch.equal(after[k], before[k])]},
               os.path.join(out, f"rank_{rank}.pt"))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
