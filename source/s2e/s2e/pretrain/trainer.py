"""The AGDM pretraining loop: mixture NLL on (context frames, goal, future waypoints) batches.

Plain PyTorch. One run directory holds everything a user keeps: `state.pt` (model, optimizer,
step, anchors: what resume needs), `agdm.pt` (the latest model checkpoint), `agdm_best.pt` (best
held-out minADE), TensorBoard events, `metrics.json` and `curves.png` (held-out curves); every file
is written atomically, so a killed run resumes from its last save without losing it.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..models.agdm import AGDM
from ..models.checkpoint import save_checkpoint
from ..models.mixture import agdm_loss
from ..utils.files import atomic_path, write_json_atomic
from .curves import save_pretrain_curves
from .metrics import model_metrics


@dataclass
class TrainCfg:
    iterations: int = 3000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 1e-4
    warmup: int = 100
    grad_clip: float = 1.0
    eval_every: int = 500
    eval_batches: int = 20
    save_every: int = 250
    log_every: int = 25


def evaluate(model: AGDM, loader: DataLoader, max_batches: int, device) -> dict[str, float]:
    """Open-loop metrics averaged over up to `max_batches` held-out batches (sample-weighted)."""
    model.eval()
    sums: dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for i, batch in enumerate(loader):
            if i >= max_batches:
                break
            batch = {k: v.to(device) for k, v in batch.items()}
            m = model_metrics(model, batch)
            n = int(m.pop("count"))
            for k, v in m.items():
                sums[k] = sums.get(k, 0.0) + float(v) * n
            count += n
    model.train()
    return {k: v / max(count, 1) for k, v in sums.items()}


class Pretrainer:
    """Trains an AGDM; `fit()` resumes from `run_dir/state.pt` when it exists."""

    def __init__(self, model: AGDM, train_loader: DataLoader, eval_loader: DataLoader | None, cfg: TrainCfg,
                 run_dir: str | Path, device: str = "cpu", provenance: dict | None = None,
                 normalization: dict | None = None):
        self.model, self.cfg, self.device = model.to(device), cfg, device
        self.train_loader, self.eval_loader = train_loader, eval_loader
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.provenance, self.normalization = dict(provenance or {}), dict(normalization or {})
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.step = 0
        self.best = math.inf
        self.history: list[dict] = []

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then cosine decay to 10%."""
        if step < self.cfg.warmup:
            return self.cfg.lr * (step + 1) / self.cfg.warmup
        t = (step - self.cfg.warmup) / max(1, self.cfg.iterations - self.cfg.warmup)
        return self.cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))

    # -- state ------------------------------------------------------------------------------------

    def save_state(self) -> None:
        state = {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(), "step": self.step,
                 "best": self.best, "history": self.history, "train_cfg": asdict(self.cfg),
                 "rng": torch.get_rng_state()}
        with atomic_path(self.run_dir / "state.pt") as tmp:
            torch.save(state, tmp)
        save_checkpoint(self.run_dir / "agdm.pt", self.model, self.normalization, self._provenance())

    def load_state(self) -> bool:
        path = self.run_dir / "state.pt"
        if not path.is_file():
            return False
        try:
            state = torch.load(path, map_location=self.device, weights_only=False)
            self.model.load_state_dict(state["model"])
        except Exception as exc:  # a damaged or foreign state file: say which and how to start over
            raise RuntimeError(f"cannot resume from {path} ({str(exc).splitlines()[0]}): "
                               "delete the run folder or choose another run name") from None
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.best, self.history = state["step"], state["best"], state["history"]
        torch.set_rng_state(state["rng"])
        return True

    def _provenance(self, metrics: dict | None = None) -> dict:
        return {**self.provenance, "iterations": self.step,
                "metrics": metrics or (self.history[-1] if self.history else {})}

    # -- loop -------------------------------------------------------------------------------------

    def fit(self, writer=None, progress=True) -> dict:
        from tqdm import tqdm

        cfg = self.cfg
        if self.load_state():
            print(f"[pretrain] resumed {self.run_dir} at iteration {self.step}", flush=True)
        self.model.train()
        bar = tqdm(total=cfg.iterations, initial=self.step, disable=not progress, dynamic_ncols=True, desc="pretrain")
        data = iter(self.train_loader)
        t0, running = time.time(), {}
        while self.step < cfg.iterations:
            try:
                batch = next(data)
            except StopIteration:
                data = iter(self.train_loader)
                batch = next(data)
            batch = {k: v.to(self.device) for k, v in batch.items()}
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_at(self.step)
            out = self.model(batch["images"], batch["goal"])
            losses = agdm_loss(out, batch["waypoints"], batch["speed"], self.model.winner(out, batch["waypoints"]))
            self.optimizer.zero_grad(set_to_none=True)
            losses["loss"].backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.optimizer.step()
            self.step += 1
            bar.update(1)
            for k, v in losses.items():
                running[k] = running.get(k, 0.0) + v.detach().item()
            if self.step % cfg.log_every == 0:
                means = {k: v / cfg.log_every for k, v in running.items()}
                running = {}
                bar.set_postfix(loss=f"{means['loss']:.2f}", nll=f"{means['nll']:.2f}")
                if writer is not None:
                    for k, v in means.items():
                        writer.add_scalar(f"train/{k}", v, self.step)
                    writer.add_scalar("train/lr", self.lr_at(self.step), self.step)
            if self.eval_loader is not None and (self.step % cfg.eval_every == 0 or self.step == cfg.iterations):
                metrics = evaluate(self.model, self.eval_loader, cfg.eval_batches, self.device)
                metrics["iteration"] = self.step
                metrics["wall_s"] = time.time() - t0
                self.history.append(metrics)
                if writer is not None:
                    for k, v in metrics.items():
                        writer.add_scalar(f"eval/{k}", v, self.step)
                tqdm.write(f"[pretrain] it {self.step}: minADE {metrics['minADE']:.2f} m, ADE {metrics['ADE']:.2f} m, "
                           f"MAOE {metrics['MAOE']:.1f} deg, anchor acc {metrics['anchor_acc']:.2f}, NLL "
                           f"{metrics['nll']:.1f}")
                if metrics["minADE"] < self.best:
                    self.best = metrics["minADE"]
                    save_checkpoint(self.run_dir / "agdm_best.pt", self.model, self.normalization,
                                    self._provenance(metrics))
                write_json_atomic(self.run_dir / "metrics.json", self.history)
                save_pretrain_curves(self.history, self.run_dir / "curves.png",
                                     title=f"AGDM pretraining: {self.run_dir.name}")
            if self.step % cfg.save_every == 0 or self.step == cfg.iterations:
                self.save_state()
        bar.close()
        return self.history[-1] if self.history else {}
