"""Every fine-tuning run checks itself: its top-mode policy against the imported checkpoint on held-out episodes.

`HeldOutCheck` is the S2ERunner's checkpoint hook (train_ram.py sets it): at the run's last checkpoint,
and at every checkpoint whose iteration is a multiple of `every` (> 0), it compares the checkpoint
with the imported AGDM on a fixed episode set of validation blocks (seeds no training run uses by
default; collisions end episodes), prints one line such as
`held-out SR 0.62 -> 0.75 (+13 pts; 14 wins / 2 losses, McNemar p = 0.004), CT 0.36 -> 0.22`,
returns the figures for TensorBoard (`HeldOut/*`), appends them to <run>/held_out.json and keeps the
best validated checkpoint as <run>/best.pt (highest SR, then lowest CT, then the earlier one).
The checkpoint's own evaluation is cached, so only the run's policy is evaluated at each check.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from s2e.utils.files import atomic_path, write_json_atomic

from ..evaluation.compare import EpisodeSet, compare_policies


class HeldOutCheck:
    def __init__(self, run_dir: str | Path, reference: str | Path, episodes: EpisodeSet, cache_dir: str | Path,
                 final_iteration: int, every: int = 0, parallel: int = 2, log=print):
        self.run_dir, self.reference, self.episodes = Path(run_dir), Path(reference), episodes
        self.cache_dir, self.final_iteration, self.every = cache_dir, final_iteration, every
        self.parallel, self.log = parallel, log
        self.history_path = self.run_dir / "held_out.json"
        self.history: list[dict] = json.loads(self.history_path.read_text()) if self.history_path.is_file() else []

    def due(self, iteration: int) -> bool:
        if any(h["iteration"] == iteration for h in self.history):
            return False
        return iteration == self.final_iteration or (self.every > 0 and iteration % self.every == 0 and iteration > 0)

    def __call__(self, path: str, iteration: int) -> dict[str, float] | None:
        if not self.due(iteration):
            return None
        overall, _ = compare_policies(self.reference, path, self.episodes, self.cache_dir, ("checkpoint", "fine-tuned"),
                                      self.parallel, log=lambda line: self.log(f"[held-out] {line}"))
        self.log(f"[held-out] iteration {iteration}, seeds {self.episodes.seeds}: held-out {overall.line()}")
        entry = {"iteration": iteration, "checkpoint": Path(path).name, **overall.to_dict()}
        self.history.append(entry)
        write_json_atomic(self.history_path, self.history)
        best = min(self.history, key=lambda h: (-h["sr_b"], h["ct_b"], h["iteration"]))
        if best is entry:
            with atomic_path(self.run_dir / "best.pt") as tmp:
                shutil.copyfile(path, tmp)
            write_json_atomic(self.run_dir / "best.json", entry)
        return {"HeldOut/SR_checkpoint": overall.sr_a, "HeldOut/SR": overall.sr_b,
                "HeldOut/CT_checkpoint": overall.ct_a, "HeldOut/CT": overall.ct_b, "HeldOut/wins": overall.wins,
                "HeldOut/losses": overall.losses, "HeldOut/mcnemar_p": overall.mcnemar_p}
