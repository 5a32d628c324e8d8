"""The per-env window of cached frame features: equal to encoding the whole history every step, re-encoding the
envs whose history restarted, and the same window behind every closed-loop user of AGDM's frames."""

from __future__ import annotations

import numpy as np
import torch

from s2e.models.frame_window import FrameFeatureWindow


def _rollout(history: torch.Tensor, steps: int, restart: dict[int, int], seed: int = 1):
    """Camera histories [E, k, 3, H, W] advancing one frame per step; at step s env restart[s] gets a new history."""
    gen = torch.Generator().manual_seed(seed)
    rgb = history.clone()
    for step in range(steps):
        rgb = torch.cat([rgb[:, 1:], torch.rand(rgb[:, :1].shape, generator=gen)], dim=1)
        refresh = torch.zeros(len(rgb), dtype=torch.bool)
        if step in restart:
            env = restart[step]
            rgb[env] = torch.rand(rgb[env].shape, generator=gen)
            refresh[env] = True
        yield rgb, refresh


def test_the_window_equals_encoding_every_frame_every_step(tiny_agdm):
    k, (h, w) = tiny_agdm.cfg.context, tiny_agdm.cfg.image_size
    start = torch.rand(3, k, 3, h, w, generator=torch.Generator().manual_seed(0))
    window = FrameFeatureWindow(tiny_agdm.encode_frames)
    with torch.inference_mode():
        assert torch.equal(window(start), tiny_agdm.encode_frames(start))  # the first call encodes everything
        worst = 0.0
        for rgb, refresh in _rollout(start, steps=2 * k + 2, restart={2: 1, 5: 0}):
            worst = max(worst, (window(rgb, refresh) - tiny_agdm.encode_frames(rgb)).abs().max().item())
    assert worst < 1e-5  # BLAS rounding only: a frame's features do not depend on the batch it was encoded in


def test_a_restarted_history_is_re_encoded_not_slid():
    calls = []

    def encode(rgb):  # counts the frames encoded; features = the frames' mean, so the window's content is readable
        calls.append(rgb.shape[:2])
        return rgb.mean(dim=(2, 3, 4))[..., None]

    window = FrameFeatureWindow(encode)
    rgb = torch.arange(2 * 3, dtype=torch.float32).view(2, 3, 1, 1, 1).expand(2, 3, 3, 2, 2)
    window(rgb)
    slid = torch.cat([rgb[:, 1:], torch.full_like(rgb[:, :1], 9.0)], dim=1)
    slid[1] = 7.0
    feats = window(slid, torch.tensor([False, True]))
    assert calls == [(2, 3), (2, 1), (1, 3)]  # all, then the newest frame of both, then env 1's whole history
    assert feats[:, :, 0].tolist() == [[1.0, 2.0, 9.0], [7.0, 7.0, 7.0]]
    window(rgb[:1])  # another env count: everything again
    assert calls[-1] == (1, 3)


def test_a_call_without_refresh_re_encodes_only_the_histories_that_changed():
    """learn()'s get_observations() re-reads the state the last step left: the cached features come back bit for bit
    (re-encoding them in one batch of E * k frames can change their last bits), and only an env whose history changed
    behind the window's back is re-encoded."""
    calls = []

    def encode(rgb):
        calls.append(tuple(rgb.shape[:2]))
        return rgb.mean(dim=(2, 3, 4))[..., None] + 0.5  # + 0.5: distinguishable from an unencoded zero

    window = FrameFeatureWindow(encode)
    rgb = torch.rand(3, 4, 3, 2, 2, generator=torch.Generator().manual_seed(0))
    window(rgb)
    rgb = torch.cat([rgb[:, 1:], torch.rand(3, 1, 3, 2, 2)], dim=1)
    stepped = window(rgb, torch.zeros(3, dtype=torch.bool))
    calls.clear()
    again = window(rgb.clone())  # the same state re-read: nothing is encoded
    assert calls == [] and torch.equal(again, stepped)
    changed = rgb.clone()
    changed[2] = torch.rand(4, 3, 2, 2)  # env 2 reset without the window being told
    feats = window(changed)
    assert calls == [(1, 4)] and torch.equal(feats[:2], stepped[:2]) and torch.equal(feats[2], encode(changed[2:])[0])
    assert torch.equal(again, stepped)  # a tensor handed out before is not changed afterwards


def test_the_agdm_behind_the_contract_slides_the_same_window(tiny_agdm):
    from s2e.navbench.agdm_contract import AGDMContractPolicy

    k, (h, w) = tiny_agdm.cfg.context, tiny_agdm.cfg.image_size
    adapter, window = AGDMContractPolicy(tiny_agdm), FrameFeatureWindow(tiny_agdm.encode_frames)
    start = torch.rand(2, k, 3, h, w, generator=torch.Generator().manual_seed(0))
    goal = torch.tensor([[4.0, 1.0], [6.0, -2.0]])
    frames = [(start, torch.ones(2, dtype=torch.bool))] + list(_rollout(start, steps=k + 1, restart={1: 0}))
    for rgb, refresh in frames:
        rgb = (rgb * 255).round() / 255  # the contract's frames are uint8
        obs = {"rgb": (rgb * 255).round().to(torch.uint8).permute(0, 1, 3, 4, 2).numpy(), "route_point": goal.numpy(),
               "reset": refresh.numpy()}
        answer = adapter(obs)
        with torch.inference_mode():
            direct = tiny_agdm.forward_features(window(rgb, refresh), goal).action("best")
        w_ = tiny_agdm.cfg.num_waypoints
        assert np.array_equal(answer["waypoints"], direct[:, : 2 * w_].reshape(-1, w_, 2).numpy())
