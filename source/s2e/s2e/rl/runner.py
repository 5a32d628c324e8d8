"""The S2E runner: rsl-rl's OnPolicyRunner and PPO, with what fine-tuning an AGDM needs on top.

- the actor is `s2e.rl.policy:AGDMActor` (the imported checkpoint, trained per strategy), the env is
  wrapped by `AGDMObservationEnv`, so rollouts store cached context tokens, not images;
- distributed training also on CPU: torchrun's WORLD_SIZE / RANK / LOCAL_RANK with the gloo backend
  when the device is not CUDA (rsl-rl itself only knows NCCL on cuda:LOCAL_RANK);
- model_N.pt holds the state after iterations 0..N (weights, optimizer, adaptive learning rate, RNG);
  a resumed run continues at iteration N + 1 and runs `num_learning_iterations` more (rsl-rl's
  convention for the count, without repeating N); the envs restart their episodes (Isaac Lab has no
  env state to save), the only difference from a run that was never interrupted;
- checkpoints are written atomically and carry the AGDM checkpoint's provenance and the strategy;
  loading a missing, corrupt or mismatched one fails with one line naming the file and the fix;
- `checkpoint_hook(path, iteration)`, when set, runs after each checkpoint is written (train_ram.py's
  held-out check); the scalars it returns go to the run's logger at that iteration.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.distributed as dist
from rsl_rl.runners import OnPolicyRunner

from ..utils.files import atomic_path


class RunnerCheckpointError(RuntimeError):
    """A training checkpoint that cannot be resumed or played (message names the file and the fix)."""


class S2ERunner(OnPolicyRunner):
    checkpoint_hook = None
    """Callable (checkpoint path, iteration) -> {scalar name: value} | None, run after each save (rank 0 saves)."""

    def _configure_multi_gpu(self) -> None:
        world = int(os.getenv("WORLD_SIZE", "1"))
        if world <= 1 or str(self.device).startswith("cuda"):
            return super()._configure_multi_gpu()
        self.gpu_world_size, self.is_distributed = world, True
        self.gpu_local_rank, self.gpu_global_rank = int(os.getenv("LOCAL_RANK", "0")), int(os.getenv("RANK", "0"))
        self.cfg["multi_gpu"] = {"global_rank": self.gpu_global_rank, "local_rank": self.gpu_local_rank,
                                 "world_size": world}
        if not dist.is_initialized():
            dist.init_process_group(backend="gloo", rank=self.gpu_global_rank, world_size=world)

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """rsl-rl's loop over iterations current_learning_iteration .. + num - 1; afterwards
        current_learning_iteration is the next iteration, so a second call continues without repeating one."""
        super().learn(num_learning_iterations, init_at_random_ep_len)
        self.current_learning_iteration += 1

    @property
    def actor(self):
        return self.alg.get_policy()

    def save(self, path: str, infos: dict | None = None) -> None:
        """rsl-rl's checkpoint dict, plus the AGDM provenance and strategy, written via a temporary file."""
        saved = self.alg.save()
        saved["iter"] = self.alg.num_updates - 1  # the last iteration done (also when saved between learn() calls)
        actor = self.actor
        saved["infos"] = {**(infos or {}), "strategy": actor.strategy, "rank_only": actor.rank_only, "agdm": actor.meta,
                          "agdm_checkpoint": actor.checkpoint}
        saved["rng_state"] = {"torch": torch.get_rng_state(),
                              "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None}
        with atomic_path(path) as tmp:  # a kill -9 mid-write leaves only a hidden file no checkpoint pattern matches
            torch.save(saved, tmp)
        self.logger.save_model(path, saved["iter"])
        if self.checkpoint_hook is not None:
            scalars = self.checkpoint_hook(path, saved["iter"]) or {}
            writer = self.logger.writer
            for name, value in scalars.items():
                if writer is not None:
                    writer.add_scalar(name, value, saved["iter"])

    def load(self, path: str, load_cfg: dict | None = None, strict: bool = True,
             map_location: str | None = None) -> dict:
        path = str(path)
        if not Path(path).is_file():
            raise RunnerCheckpointError(f"no training checkpoint at {path}: check --load_run/--checkpoint (runs are "
                                        "under logs/rsl_rl/<experiment>/)")
        try:
            loaded = torch.load(path, weights_only=False, map_location=map_location or self.device)
        except Exception as exc:
            raise RunnerCheckpointError(f"{path} is not a readable training checkpoint ({str(exc).splitlines()[0]}): "
                                        "it is damaged; resume from an earlier model_<iteration>.pt") from None
        if not isinstance(loaded, dict) or "actor_state_dict" not in loaded:
            raise RunnerCheckpointError(f"{path} is not an S2E training checkpoint (no actor_state_dict): "
                                        "pass a model_<iteration>.pt written by train_ram.py")
        infos = loaded.get("infos") or {}
        for name in ("strategy", "rank_only"):  # actor settings the saved weights only make sense with
            saved, ours = infos.get(name), getattr(self.actor, name)
            if saved is not None and saved != ours:
                value = str(saved).lower() if isinstance(saved, bool) else saved
                raise RunnerCheckpointError(f"{path} was trained with {name}={saved}, this run uses {ours}: "
                                            f"set agent.actor.{name}={value}")
        try:
            load_iteration = self.alg.load(loaded, load_cfg, strict)
        except (RuntimeError, KeyError, ValueError) as exc:
            reason = str(exc).splitlines()[0][:200]
            raise RunnerCheckpointError(f"{path} does not match this model ({reason}): resume with the same AGDM "
                                        "--checkpoint and agent settings as the run") from None
        if load_iteration:  # model_N.pt holds iterations 0..N: the resumed run continues at N + 1
            self.current_learning_iteration = loaded["iter"] + 1
            rng = loaded.get("rng_state")
            if rng is not None and not self.is_distributed:  # ranks draw differently: each keeps its own seed's stream
                torch.set_rng_state(rng["torch"].cpu())
                if (rng.get("cuda") is not None and torch.cuda.is_available()
                        and len(rng["cuda"]) == torch.cuda.device_count()):
                    torch.cuda.set_rng_state_all([state.cpu() for state in rng["cuda"]])
        return loaded.get("infos") or {}
