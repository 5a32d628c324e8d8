"""AGDM: mixture density vs torch.distributions, anchors, loss, cached inference, metrics, checkpoints."""

import math

import pytest
import torch
from torch import distributions as D

from s2e.control.waypoint_controller import WaypointControllerCfg, metric_waypoints
from s2e.models import (
    AGDM,
    AGDMConfig,
    AGDMOutput,
    CheckpointError,
    TrajectoryMixture,
    agdm_loss,
    load_checkpoint,
    save_checkpoint,
)
from s2e.pretrain.anchors import anchor_points, kmeans_anchors
from s2e.pretrain.metrics import open_loop_metrics

W = 10

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _random_mixture(b=3, m=5, w=W, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, m, generator=g, dtype=dtype)
    mu = torch.randn(b, m, w, 2, generator=g, dtype=dtype) * 2
    sigma = torch.rand(b, m, w, 2, generator=g, dtype=dtype) + 0.3
    rho = (torch.rand(b, m, w, generator=g, dtype=dtype) * 2 - 1) * 0.9
    return logits, mu, sigma, rho


def _torch_mixture(logits, mu, sigma, rho):
    sx, sy = sigma[..., 0], sigma[..., 1]
    cov = torch.stack([torch.stack([sx * sx, rho * sx * sy], -1), torch.stack([rho * sx * sy, sy * sy], -1)], -2)
    comp = D.Independent(D.MultivariateNormal(mu, covariance_matrix=cov), 1)  # batch [B, M], event [W, 2]
    return D.MixtureSameFamily(D.Categorical(logits=logits), comp), comp


def _small_cfg(**kw):
    base = dict(d_model=32, n_heads=2, fusion_layers=1, decoder_layers=2, num_modes=8, cnn_channels=(8, 16, 16, 16))
    return AGDMConfig(**{**base, **kw})


def _model(cfg, seed=0):
    torch.manual_seed(seed)
    anchors = torch.stack([torch.full((cfg.num_modes,), 8.0), torch.linspace(-6, 6, cfg.num_modes)], -1)
    return AGDM(cfg, anchors).eval()


def _batch(b=4, k=4, seed=0, size=64):
    g = torch.Generator().manual_seed(seed)
    speed = torch.rand(b, generator=g) + 0.5
    t = torch.arange(1, W + 1, dtype=torch.float32)
    curve = torch.randn(b, 1, generator=g) * 0.05
    norm = torch.stack([t.expand(b, W), curve * t**2], -1)
    return {"images": torch.rand(b, k, 3, size, size, generator=g), "goal": torch.randn(b, 2, generator=g) * 10,
            "waypoints": norm, "speed": speed, "metric_waypoints": norm * (speed * 0.25)[:, None, None]}


# ---- mixture --------------------------------------------------------------------------------------
def test_mixture_log_prob_matches_torch_distributions():
    logits, mu, sigma, rho = _random_mixture()
    ours = TrajectoryMixture(logits, mu, sigma, rho)
    ref, comp = _torch_mixture(logits, mu, sigma, rho)
    w = mu[:, 2] + torch.randn_like(mu[:, 2])
    torch.testing.assert_close(ours.log_prob(w), ref.log_prob(w), rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ours.mode_log_prob(w), comp.log_prob(w[:, None]), rtol=1e-10, atol=1e-10)
    samples = ref.sample((7,))  # leading sample dimension broadcasts
    torch.testing.assert_close(ours.log_prob(samples), ref.log_prob(samples), rtol=1e-10, atol=1e-10)


def test_mixture_sampling_and_entropy():
    logits, mu, sigma, rho = _random_mixture(b=2, m=1, w=3)
    mix = TrajectoryMixture(logits, mu, sigma, rho)
    g = torch.Generator().manual_seed(1)
    n = 4000
    many = TrajectoryMixture(*(t.repeat(n, *[1] * (t.dim() - 1)) for t in (logits, mu, sigma, rho)))
    draws = many.sample(g)[1].view(n, 2, 3, 2)  # [N, B, W, 2]
    torch.testing.assert_close(draws.mean(0), mu[:, 0], atol=0.1, rtol=0)
    emp_corr = (((draws[..., 0] - mu[None, :, 0, :, 0]) * (draws[..., 1] - mu[None, :, 0, :, 1])).mean(0)
                / sigma[:, 0].prod(-1))
    torch.testing.assert_close(emp_corr, rho[:, 0], atol=0.07, rtol=0)
    _, comp = _torch_mixture(logits, mu, sigma, rho)
    exact = comp.entropy()[:, 0]  # one mode: the Gaussian's entropy
    torch.testing.assert_close(mix.entropy_estimate(2000, g), exact, atol=0.15, rtol=0)
    # Several modes: agrees with a plain Monte-Carlo estimate from torch.distributions.
    logits, mu, sigma, rho = _random_mixture(b=2, m=4, w=3, seed=3)
    mix, (ref, _) = TrajectoryMixture(logits, mu, sigma, rho), _torch_mixture(logits, mu, sigma, rho)
    torch.testing.assert_close(mix.entropy_estimate(1000, g), -ref.log_prob(ref.sample((20000,))).mean(0), atol=0.15,
                               rtol=0)
    modes, w = mix.sample(g)
    assert modes.shape == (2,) and w.shape == (2, 3, 2)


def test_entropy_estimate_has_gradients():
    logits, mu, sigma, rho = (t.float().requires_grad_() for t in _random_mixture(b=2, m=3, w=4))
    TrajectoryMixture(logits, mu, sigma, rho).entropy_estimate(4).sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in (logits, mu, sigma, rho))


def test_winner_picks_best_fitting_mode():
    t = torch.arange(1, W + 1, dtype=torch.float32)[:, None]
    straight = t * torch.tensor([1.0, 0.0])
    left = t * torch.tensor([0.7, 0.7])
    right = t * torch.tensor([0.7, -0.7])
    mu = torch.stack([straight, left, right])[None].repeat(3, 1, 1, 1)
    mix = TrajectoryMixture(torch.zeros(3, 3), mu, torch.ones_like(mu), torch.zeros(3, 3, W))
    truth = torch.stack([t * torch.tensor([0.8, 0.5]), t * torch.tensor([1.0, 0.05]), t * torch.tensor([0.5, -0.9])])
    assert mix.winner(truth).tolist() == [1, 0, 2]
    torch.testing.assert_close(mix.mean_of(torch.tensor([2, 0, 1])), torch.stack([right, straight, left]))


def test_anchor_assignment_picks_the_nearest_intent_point_whatever_the_predictions():
    model = _model(_small_cfg(assignment="anchor"))  # anchors (8, y) with y = linspace(-6, 6, 8)
    b = _batch(b=3)
    out = model(b["images"], b["goal"])
    truth = torch.zeros(3, W, 2)
    truth[:, -1] = torch.tensor([[8.0, -6.1], [7.5, 0.9], [9.0, 5.5]])
    assert model.winner(out, truth).tolist() == [0, 4, 7]
    # the paper's rule follows the predictions instead
    pred_rule = _model(_small_cfg())
    torch.testing.assert_close(pred_rule.winner(out, truth), out.mixture().winner(truth), rtol=0, atol=0)
    with pytest.raises(ValueError, match="assignment"):
        _small_cfg(assignment="nearest")


def test_loss_trains_the_given_winner():
    logits, mu, sigma, rho = (t.float() for t in _random_mixture(b=3, m=5))
    speed = torch.rand(3, 5) + 0.5
    out = AGDMOutput(logits, mu, sigma, rho, speed, waypoint_dt=0.25)
    truth, v = torch.randn(3, W, 2), torch.tensor([0.7, 1.0, 1.2])
    h = torch.tensor([4, 0, 2])
    parts = agdm_loss(out, truth, v, h)
    rows = torch.arange(3)
    nll = -out.mixture().mode_log_prob(truth)[rows, h]
    torch.testing.assert_close(parts["nll"], nll.mean())
    torch.testing.assert_close(parts["cls"], torch.nn.functional.cross_entropy(logits, h))
    torch.testing.assert_close(parts["speed"], (speed[rows, h] - v).square().mean())
    default = agdm_loss(out, truth, v)  # without a winner: the best-fitting predicted mode
    torch.testing.assert_close(default["loss"], agdm_loss(out, truth, v, out.mixture().winner(truth))["loss"])


# ---- anchors --------------------------------------------------------------------------------------
def test_kmeans_recovers_clusters_deterministically():
    centers = torch.tensor([[10.0, 0.0], [7.0, 7.0], [7.0, -7.0], [0.0, 0.0]])
    g = torch.Generator().manual_seed(0)
    points = (centers[:, None] + 0.2 * torch.randn(4, 300, 2, generator=g)).reshape(-1, 2)
    for seed in (0, 1, 2):
        anchors = kmeans_anchors(points, 4, iters=30, seed=seed)
        assert torch.cdist(centers, anchors).min(1).values.max() < 0.1
    assert torch.equal(kmeans_anchors(points, 4, seed=5), kmeans_anchors(points, 4, seed=5))
    wp = torch.randn(6, W, 2)
    assert torch.equal(anchor_points(wp), wp[:, -1])


def test_kmeans_with_fewer_points_than_modes():
    points = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    anchors = kmeans_anchors(points, 8)
    assert anchors.shape == (8, 2)
    assert torch.cdist(anchors, anchors).add(torch.eye(8) * 1e9).min() > 0  # all distinct
    assert torch.cdist(anchors, points).min(1).values.max() < 0.01  # each sits on a data point
    same = kmeans_anchors(torch.ones(50, 2), 4)  # one distinct point, many copies
    assert torch.cdist(same, same).add(torch.eye(4) * 1e9).min() > 0
    with pytest.raises(ValueError):
        kmeans_anchors(torch.zeros(0, 2), 4)


# ---- model ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("modes", [64, 1])
def test_output_shapes_and_action(modes):
    cfg = AGDMConfig(num_modes=modes)
    model = _model(cfg)
    b = _batch(b=2)
    with torch.no_grad():
        out = model(b["images"], b["goal"])
    assert out.logits.shape == (2, modes) and out.speed.shape == (2, modes)
    assert out.mu.shape == out.sigma.shape == (2, modes, W, 2) and out.rho.shape == (2, modes, W)
    assert (out.sigma >= cfg.min_sigma).all() and (out.rho.abs() < 0.95).all()
    assert ((out.speed > 0) & (out.speed <= cfg.max_speed)).all()
    action = out.action("best")
    assert action.shape == (2, 2 * W + 1)
    top = out.logits.argmax(-1)
    # The env's controller turns the action back into exactly the top mode's metric trajectory.
    metric = metric_waypoints(action, WaypointControllerCfg())
    torch.testing.assert_close(metric, out.metric_mu()[torch.arange(2), top])
    assert out.action("sample", torch.Generator().manual_seed(0)).shape == (2, 2 * W + 1)
    # "mean": the controller gets the score-weighted mean of the modes' metric trajectories
    q = out.logits.softmax(-1)[..., None, None]
    torch.testing.assert_close(metric_waypoints(out.action("mean"), WaypointControllerCfg()),
                               (q * out.metric_mu()).sum(1))
    with pytest.raises(ValueError):
        out.action("median")


def test_cached_frame_features_give_identical_outputs():
    """A rollout encodes each new frame once and slides a window over the cached features: the outputs
    equal a full forward pass on the same k frames (bit for bit from the same features; up to float
    rounding overall, since BLAS/oneDNN pick different conv kernels for different frame counts)."""
    model = _model(AGDMConfig(num_modes=16))
    b = _batch(b=3, k=6)
    with torch.no_grad():
        cached = model.encode_frames(b["images"])
        for i in range(3):
            a = model.decode(model.fuse(cached[:, i:i + 4], b["goal"]))
            again = model.decode(model.fuse(cached[:, i:i + 4].clone(), b["goal"]))
            ref = model(b["images"][:, i:i + 4], b["goal"])
            for name in ("logits", "mu", "sigma", "rho", "speed"):
                torch.testing.assert_close(getattr(a, name), getattr(again, name), rtol=0, atol=0)
                torch.testing.assert_close(getattr(a, name), getattr(ref, name), rtol=0, atol=1e-5)
            torch.testing.assert_close(model.encode_frames(b["images"][:, i + 3:i + 4])[:, 0], cached[:, i + 3], rtol=0,
                                       atol=1e-5)


def test_loss_decreases_when_overfitting_a_tiny_batch():
    cfg = _small_cfg(image_size=(32, 32))
    model = _model(cfg).train()
    b = _batch(b=8, size=32)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(50):
        parts = agdm_loss(model(b["images"], b["goal"]), b["waypoints"], b["speed"])
        opt.zero_grad()
        parts["loss"].backward()
        opt.step()
        losses.append(parts["loss"].item())
    assert set(parts) == {"loss", "nll", "cls", "speed"}
    assert losses[-1] < losses[0] - 20 and min(losses[-5:]) < 0.5 * losses[0]


def test_single_mode_loss_has_no_classification_term():
    cfg = _small_cfg(num_modes=1)
    b = _batch(b=2)
    parts = agdm_loss(_model(cfg)(b["images"], b["goal"]), b["waypoints"], b["speed"])
    assert parts["cls"].item() == 0.0


# ---- metrics --------------------------------------------------------------------------------------
def _output_from(mu, speed, logits):
    return AGDMOutput(logits, mu, torch.full_like(mu, 0.5), torch.zeros(mu.shape[:-1]), speed, waypoint_dt=0.25)


def test_metrics_on_hand_made_predictions():
    b = _batch(b=4)
    truth = b["waypoints"]
    wrong = truth.flip(-1)  # mirrored: a clearly different trajectory
    mu = torch.stack([wrong, truth], 1)
    speed = torch.stack([b["speed"], b["speed"]], 1)
    perfect = open_loop_metrics(_output_from(mu, speed, torch.tensor([[0.0, 5.0]] * 4)), b)
    for key in ("minADE", "minFDE", "ADE", "FDE", "MAOE", "speed_err"):
        assert perfect[key] == pytest.approx(0.0, abs=1e-5), key
    assert perfect["anchor_acc"] == 1.0 and perfect["count"] == 4
    # Top mode wrong: min-over-modes metrics stay 0, top-mode metrics do not.
    bad = open_loop_metrics(_output_from(mu, speed, torch.tensor([[5.0, 0.0]] * 4)), b)
    assert bad["minADE"] == pytest.approx(0.0, abs=1e-5) and bad["ADE"] > 0.1 and bad["anchor_acc"] == 0.0
    assert bad["nll"] > perfect["nll"]
    # A 1 m lateral shift everywhere: ADE = FDE = 1 m. Speed 1 m/s -> 4 normalized units per metre.
    one = {"waypoints": truth[:1], "speed": torch.ones(1), "metric_waypoints": truth[:1] * 0.25}
    shifted = truth[:1] + torch.tensor([0.0, 4.0])
    m = open_loop_metrics(_output_from(shifted[:, None], torch.ones(1, 1), torch.zeros(1, 1)), one)
    assert m["ADE"] == pytest.approx(1.0, abs=1e-5) and m["FDE"] == pytest.approx(1.0, abs=1e-5)
    # MAOE is the worst step: one waypoint turned by 90 degrees.
    t = torch.arange(1, W + 1, dtype=torch.float32)
    straight = torch.stack([t, torch.zeros(W)], -1)[None]
    turned = straight.clone()
    turned[0, 4] = torch.tensor([0.0, 5.0])
    one = {"waypoints": straight, "speed": torch.ones(1), "metric_waypoints": straight * 0.25}
    m = open_loop_metrics(_output_from(turned[:, None], torch.ones(1, 1), torch.zeros(1, 1)), one)
    assert m["MAOE"] == pytest.approx(90.0, abs=1e-3)


# ---- checkpoints ----------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    model = _model(_small_cfg())
    path = save_checkpoint(tmp_path / "agdm.pt", model, {"image_mean": [0.5, 0.5, 0.5], "waypoint_dt": 0.25},
                           {"data": "unit-test", "metrics": {"minADE": 0.3}})
    return model, path


def test_checkpoint_round_trip(saved):
    model, path = saved
    loaded, meta = load_checkpoint(path)
    b = _batch(b=2)
    with torch.no_grad():
        a, r = model(b["images"], b["goal"]), loaded(b["images"], b["goal"])
    torch.testing.assert_close(a.mu, r.mu, rtol=0, atol=0)
    torch.testing.assert_close(a.logits, r.logits, rtol=0, atol=0)
    assert meta["normalization"]["waypoint_dt"] == 0.25 and meta["provenance"]["data"] == "unit-test"
    assert meta["provenance"]["metrics"]["minADE"] == 0.3 and "date" in meta["provenance"]
    assert loaded.cfg == model.cfg and sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left


def _rewrite(path, edit):
    data = torch.load(path, weights_only=True)
    edit(data)
    torch.save(data, path)


def _error(path):
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg
    return msg


def test_checkpoint_errors(saved, tmp_path):
    _, path = saved
    assert "file not found" in _error(tmp_path / "nowhere.pt")
    good = path.read_bytes()

    path.write_bytes(good[: len(good) // 2])
    assert "corrupt, truncated" in _error(path)
    noise = torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    path.write_bytes(noise.numpy().tobytes())
    msg = _error(path)
    assert "not a torch checkpoint file" in msg and "weights_only" not in msg and "code execution" not in msg
    # a zip archive whose pickle is damaged: torch's message would advise unsafe loading; ours does not
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(buffer, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, b"\x80\x02garbage" if item.filename.endswith("data.pkl") else data)
    path.write_bytes(buffer.getvalue())
    msg = _error(path)
    assert "do not unpickle" in msg and "weights_only" not in msg and "code execution" not in msg

    def drop_anchors(d):
        del d["anchors"]

    def drop_weight(d):
        del d["state_dict"]["score_head.0.weight"]

    def reshape_weight(d):
        d["state_dict"]["score_head.0.weight"] = torch.zeros(3, 3)

    def bump_version(d):
        d["format_version"] = 2

    def wrong_kind(d):
        d["kind"] = "ram"

    def unknown_config(d):
        d["config"]["flux_capacitor"] = 1

    cases = [(drop_anchors, "missing key(s) ['anchors']"), (drop_weight, "score_head.0.weight"),
             (reshape_weight, "has shape [3, 3]"), (bump_version, "format_version 2"),
             (wrong_kind, "kind is 'ram'"), (unknown_config, "flux_capacitor")]
    for edit, expected in cases:
        path.write_bytes(good)
        _rewrite(path, edit)
        assert expected in _error(path), edit.__name__


def test_checkpoint_refuses_non_plain_provenance(tmp_path):
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "x.pt", _model(_small_cfg()), {}, {"when": object()})
    assert not (tmp_path / "x.pt").exists()


def test_resnet18_without_local_weights_is_a_clear_error():
    with pytest.raises(ValueError, match="resnet_weights"):
        AGDM(AGDMConfig(encoder="resnet18", num_modes=2), torch.zeros(2, 2))
    with pytest.raises(FileNotFoundError, match="not found"):
        AGDM(AGDMConfig(encoder="resnet18", num_modes=2, resnet_weights="/nowhere/resnet18.pth"), torch.zeros(2, 2))
    assert math.isfinite(sum(p.sum().item() for p in AGDM(AGDMConfig(encoder="resnet18", num_modes=2),
                                                          torch.zeros(2, 2),
                                                       pretrained_encoder=False).parameters()))
