"""Views of a NavBench-GS split without a simulator, and the feature drift Δ_feat measured on them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from s2e.navbench.episodes import load_suite
from s2e.navbench.feature_drift import feature_drift, frame_features
from s2e.navbench.splits import SPLITS
from s2e.navbench.views import ViewCfg, route_poses, split_views

pytestmark = pytest.mark.usefixtures("one_torch_thread")
ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _suite(split: str):
    return load_suite(ASSETS / SPLITS[split].folder / "NavBench-GS-Empty-Wheeled.json")


def test_route_poses_walk_the_route_facing_along_it():
    route = np.array([[0.0, 0.0], [4.0, 0.0], [4.0, 4.0]])
    xy, yaw = route_poses(route, 4)  # every 2 m of the 8 m route, the end left out
    assert np.allclose(xy, [[0, 0], [2, 0], [4, 0], [4, 2]]) and np.allclose(yaw, [0, 0, np.pi / 2, np.pi / 2])


def test_views_are_deterministic_and_show_each_split_in_its_own_family():
    cfg = ViewCfg(height=32, width=48)
    urban = split_views(_suite("urban"), cfg, scenes=2, views_per_episode=2)
    assert urban.shape == (4, 32, 48, 3) and urban.dtype == torch.uint8
    assert torch.equal(urban, split_views(_suite("urban"), cfg, scenes=2, views_per_episode=2))
    shift = split_views(_suite("shift"), cfg, scenes=2, views_per_episode=2)
    mean_u, mean_s = urban.float().mean((0, 1, 2)), shift.float().mean((0, 1, 2))
    assert mean_s[0] - mean_s[2] > 40 and abs(mean_u[0] - mean_u[2]) < 30  # the shift family is warm, urban is not


def test_feature_drift_is_zero_for_a_frozen_encoder_and_grows_with_its_change(tiny_agdm):
    agdm = tiny_agdm
    import copy

    from s2e.models.ram import RAMPolicyModel

    frames = torch.randint(0, 256, (10, 32, 32, 3), dtype=torch.uint8)
    assert frame_features(agdm, frames).shape == (10, 32)
    assert feature_drift(agdm, RAMPolicyModel(copy.deepcopy(agdm)), frames) == 0.0  # RAM leaves the encoder as it was
    drifts = []
    for size in (0.01, 0.1):
        tuned = copy.deepcopy(agdm)
        with torch.no_grad():
            for p in tuned.encoder.parameters():
                p.add_(size * torch.randn_like(p))
        drifts.append(feature_drift(agdm, tuned, frames))
    assert 0 < drifts[0] < drifts[1]
