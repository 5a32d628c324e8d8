"""Pretrain the AGDM ("seeing"): NLL of the anchor-guided Gaussian mixture on GNM/ViNT-format data.

    ./isaaclab.sh -p scripts/pretrain_agdm.py                                  # configs/pretrain/agdm.yaml
    ./isaaclab.sh -p scripts/pretrain_agdm.py model.num_modes=1 run_name=agdm_single
    ./isaaclab.sh -p scripts/pretrain_agdm.py \
        'data.datasets=[{path: /data/recon, weight: 2, frame_dt: 0.2}, {path: logs/demos/S2E-Urban-Wheeled, weight: 1}]'
    ./isaaclab.sh -p scripts/pretrain_agdm.py init_checkpoint=assets/agdm/agdm_wheeled.pt run_name=sft_obstacles \
        'data.datasets=[{path: logs/demos/wheeled_obstacles_sft}]' train.iterations=500   # SFT, the RL ablation's
        baseline

Writes logs/pretrain/<run_name>/: agdm.pt (latest checkpoint), agdm_best.pt (best held-out minADE),
state.pt (for resume: rerunning the same command continues), metrics.json and TensorBoard events.
Anchors are K-means centres of the training samples' intent points (the final normalized waypoint).
With init_checkpoint, training starts from that checkpoint instead (its config, anchors and weights;
the model section is ignored and the data takes the checkpoint's frames and waypoint timing):
supervised fine-tuning on new data.
"""

from __future__ import annotations

from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig, OmegaConf

from s2e.utils.errors import exit_bad_input

ROOT = Path(__file__).resolve().parents[1]


def build_datasets(cfg: DictConfig):
    from s2e.pretrain.dataset import DatasetError, GNMDataset, MixedDataset, cfg_from_dict

    train_sets, test_sets, weights = [], [], []
    for entry in cfg.data.datasets:
        entry = OmegaConf.to_container(entry, resolve=True)
        weights.append(float(entry.pop("weight", 1.0)))
        settings = {**OmegaConf.to_container(cfg.data.defaults, resolve=True), **entry}
        if not Path(settings["path"]).is_absolute():
            settings["path"] = str(ROOT / settings["path"])
        train_sets.append(GNMDataset(cfg_from_dict({**settings, "split": "train"})))
        test_sets.append(GNMDataset(cfg_from_dict({**settings, "split": "test", "augment": False})))
    if not any(len(d) for d in test_sets):
        raise DatasetError("no held-out samples: add trajectories or raise data.defaults.test_fraction")
    return MixedDataset(train_sets, weights), MixedDataset(test_sets, [1.0] * len(test_sets))


def compute_anchors(dataset, num_modes: int, num_samples: int, seed: int) -> torch.Tensor:
    from s2e.pretrain.anchors import anchor_points, kmeans_anchors

    gen = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(dataset), generator=gen)[:num_samples]
    waypoints = torch.stack([dataset[int(i)]["waypoints"] for i in idx])
    return kmeans_anchors(anchor_points(waypoints), num_modes, seed=seed)


@hydra.main(version_base=None, config_path=str(ROOT / "configs/pretrain"), config_name="agdm")
def main(cfg: DictConfig) -> None:
    from torch.utils.data import DataLoader, WeightedRandomSampler
    from torch.utils.tensorboard import SummaryWriter

    from s2e.models.agdm import AGDM, AGDMConfig
    from s2e.models.checkpoint import CheckpointError, load_checkpoint
    from s2e.pretrain.dataset import SAMPLE_SHAPE_KEYS, DatasetError
    from s2e.pretrain.trainer import Pretrainer, TrainCfg

    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    device = ("cuda:0" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    run_dir = (ROOT / cfg.log_root / cfg.run_name if not Path(cfg.log_root).is_absolute() else Path(cfg.log_root)
               / cfg.run_name)
    model = None
    if cfg.init_checkpoint:
        try:
            model, _ = load_checkpoint(ROOT / cfg.init_checkpoint if not Path(cfg.init_checkpoint).is_absolute()
                                       else cfg.init_checkpoint)
        except CheckpointError as err:
            exit_bad_input(f"init_checkpoint: {err}")
        for key in SAMPLE_SHAPE_KEYS:  # the data follows the checkpoint's sample shape, not the model section's
            value = getattr(model.cfg, key)
            OmegaConf.update(cfg, f"model.{key}", list(value) if isinstance(value, tuple) else value, force_add=True)
    try:
        model_cfg = model.cfg if model is not None else AGDMConfig.from_dict(
            {k: tuple(v) if isinstance(v, list) else v for k, v in OmegaConf.to_container(cfg.model).items()})
        train_cfg = TrainCfg(**OmegaConf.to_container(cfg.train))
        train_set, test_set = build_datasets(cfg)
        train_set.check_fits(model_cfg)
    except (DatasetError, TypeError, ValueError) as err:
        exit_bad_input(str(err))
    print(f"[pretrain] {len(train_set)} training / {len(test_set)} held-out samples; run folder {run_dir}", flush=True)
    state = run_dir / "state.pt"
    if model is not None:
        print(f"[pretrain] fine-tuning {cfg.init_checkpoint} ({model_cfg.num_modes} modes, its anchors)", flush=True)
    else:
        if state.is_file():
            anchors = torch.load(state, map_location="cpu", weights_only=False)["model"]["anchors"]
        else:
            anchors = compute_anchors(train_set, model_cfg.num_modes, int(cfg.anchor_samples), int(cfg.seed))
        model = AGDM(model_cfg, anchors)
    gen = torch.Generator().manual_seed(int(cfg.seed))
    sampler = WeightedRandomSampler(train_set.sample_weights(), num_samples=10**8, replacement=True, generator=gen)
    train_loader = DataLoader(train_set, batch_size=train_cfg.batch_size, sampler=sampler,
                              num_workers=cfg.data.num_workers)
    test_loader = DataLoader(test_set, batch_size=train_cfg.batch_size, shuffle=False)
    provenance = {"data": [dict(d) for d in OmegaConf.to_container(cfg.data.datasets, resolve=True)],
                  "train_samples": len(train_set), "heldout_samples": len(test_set),
                  "config": OmegaConf.to_container(cfg, resolve=True)}
    trainer = Pretrainer(model, train_loader, test_loader, train_cfg, run_dir, device, provenance,
                         normalization={"waypoint_dt": model_cfg.waypoint_dt, "goal": "metres, robot frame",
                                        "waypoints": "metric / (speed * waypoint_dt)"})
    writer = SummaryWriter(str(run_dir / "tensorboard"))
    final = trainer.fit(writer)
    writer.close()
    print(f"[pretrain] done: {run_dir / 'agdm.pt'} (best held-out minADE: {run_dir / 'agdm_best.pt'})")
    if final:
        print("[pretrain] held-out: " + ", ".join(f"{k} {v:.3f}" for k, v in final.items()))


if __name__ == "__main__":
    main()
