"""RL fine-tuning with rsl-rl's PPO on a fake env: cached context in the storage, which parameters
train per strategy, save -> resume, checkpoint errors."""

from __future__ import annotations

import copy
import dataclasses
import shutil

import numpy as np
import pytest
import torch
from fake_vec_env import FakeUrbanEnv

from s2e.models import AGDM, AGDMConfig, load_checkpoint, save_checkpoint
from s2e.rl.loss_terms import SETTINGS as LOSS_TERM_SETTINGS
from s2e.rl.observation_env import AGDMObservationEnv
from s2e.rl.runner import RunnerCheckpointError, S2ERunner

pytestmark = pytest.mark.usefixtures("one_torch_thread")

STEPS = 6


@pytest.fixture(scope="module")
def agdm_checkpoint(tmp_path_factory):
    cfg = AGDMConfig(d_model=32, n_heads=2, fusion_layers=1, decoder_layers=2, num_modes=4, cnn_channels=(8, 8, 16, 16),
                     image_size=(32, 32))
    torch.manual_seed(0)
    anchors = torch.stack([torch.full((4,), 8.0), torch.linspace(-3, 3, 4)], -1)
    path = tmp_path_factory.mktemp("agdm") / "agdm.pt"
    save_checkpoint(path, AGDM(cfg, anchors), {}, {"test": True})
    return str(path)


PLAIN_MIXTURE = {"waypoint_std": 0.0, "waypoint_noise": True, "mode_hold_steps": 1, "mode_temperature": 1.0,
                 "rank_only": False}
"""AGDMActor settings of the plain mixture (predicted spreads, independent draws); the task default is AGDMActorCfg."""
NO_LOSS_TERMS = {"ref_kl_coef": 0.0, "mode_label_coef": 0.0, "mode_label_temperature": 0.5, "mode_label_prior": True,
                 "mode_label_epochs": 0, "mode_label_learning_rate": 1e-3, "group_size": 1, "group_advantage_coef": 0.0}
"""S2EPPO's loss terms all off (the task default is S2EPpoAlgorithmCfg.loss_terms)."""


def train_cfg(checkpoint: str, strategy: str = "ram", algorithm: dict | None = None, **actor) -> dict:
    """A runner cfg; `algorithm` may set S2EPPO's settings and, flat, its loss terms' (they go to loss_terms)."""
    actor_groups = ["frames", "goal"] if strategy == "full" else ["context"]
    algorithm = dict(algorithm or {})
    terms = {**NO_LOSS_TERMS, **{k: algorithm.pop(k) for k in list(algorithm) if k in LOSS_TERM_SETTINGS}}
    return {
        "num_steps_per_env": STEPS, "save_interval": 100, "obs_groups": {"actor": actor_groups, "critic": ["critic"]},
        "actor": {"class_name": "s2e.rl.policy:AGDMActor", "checkpoint": checkpoint, "strategy": strategy,
                  "speed_std": 0.1, **PLAIN_MIXTURE, **actor},
        "critic": {"class_name": "rsl_rl.models:MLPModel", "hidden_dims": [32, 32], "activation": "elu"},
        "algorithm": {"class_name": "s2e.rl.ppo:S2EPPO", "learning_rate": 1e-3, "num_learning_epochs": 2,
                      "num_mini_batches": 2, "clip_param": 0.2, "gamma": 0.99, "lam": 0.95, "value_loss_coef": 1.0,
                      "entropy_coef": 0.001, "max_grad_norm": 1.0, "use_clipped_value_loss": True,
                      "schedule": "adaptive", "desired_kl": 0.01, "critic_learning_rate": 3e-3, "reward_scale": 0.5,
                      "critic_warmup_iterations": 1, "loss_terms": terms, **algorithm},
        "logger": "tensorboard",
    }


def make_runner(checkpoint, strategy="ram", log_dir=None, seed=0, log_frames=False, algorithm=None, **actor):
    torch.manual_seed(seed)
    agdm, _ = load_checkpoint(checkpoint)
    env = AGDMObservationEnv(FakeUrbanEnv(num_envs=4, seed=seed, log_frames=log_frames), agdm, strategy)
    return S2ERunner(env, train_cfg(checkpoint, strategy, algorithm, **actor), log_dir=log_dir, device="cpu")


def _snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_rollout_storage_holds_cached_context_equal_to_recomputation(agdm_checkpoint):
    runner = make_runner(agdm_checkpoint, log_frames=True)
    fake = runner.env.env
    fake.frames_log.clear()
    fake.goals_log.clear()
    obs = runner.env.get_observations()
    alg = runner.alg
    with torch.inference_mode():
        for _ in range(STEPS):
            actions = alg.act(obs)
            obs, rewards, dones, extras = runner.env.step(actions)
            alg.process_env_step(obs, rewards, dones, extras)
    stored = alg.storage.observations["context"]  # [T, E, k+1, D]
    assert stored.shape[:2] == (STEPS, 4) and "camera" not in alg.storage.observations.keys()
    agdm, _ = load_checkpoint(agdm_checkpoint)
    with torch.no_grad():
        for t in range(STEPS):
            ref = agdm.fuse(agdm.encode_frames(fake.frames_log[t]), fake.goals_log[t])
            torch.testing.assert_close(stored[t], ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("strategy, trains", [
    ("ram", lambda name: ".branch." in name or ".z_in." in name or ".z_out." in name),
    ("decoder", lambda name: name.startswith("model.decoder.")),
    ("full", lambda name: True),
])
def test_only_the_strategys_parameters_and_the_critic_change(agdm_checkpoint, strategy, trains):
    runner = make_runner(agdm_checkpoint, strategy)
    actor, critic = runner.alg.actor, runner.alg.critic
    before_actor, before_critic = _snapshot(actor), _snapshot(critic)
    runner.learn(2)
    after = _snapshot(actor)
    changed = {k for k in after if not torch.equal(after[k], before_actor[k])}
    frozen = {k for k in after if not trains(k)}
    assert changed and not (changed & frozen), f"frozen parameters changed: {sorted(changed & frozen)[:5]}"
    assert all(not torch.equal(v, before_critic[k]) for k, v in _snapshot(critic).items() if k.endswith("weight"))
    if strategy == "ram":  # branches, both gates of every wrapped block
        assert {k.split(".")[4] for k in changed} >= {"branch", "z_in", "z_out"}
    if strategy == "full":
        assert any(k.startswith("model.encoder.") for k in changed)


def test_warmup_steps_only_the_critic_then_both_with_their_own_rates(agdm_checkpoint):
    runner = make_runner(agdm_checkpoint)
    alg = runner.alg
    actor0, critic0 = _snapshot(alg.actor), _snapshot(alg.critic)
    runner.learn(1)  # the warm-up update
    actor1, critic1 = _snapshot(alg.actor), _snapshot(alg.critic)
    assert all(torch.equal(v, actor0[k]) for k, v in actor1.items())
    assert any(not torch.equal(v, critic0[k]) for k, v in critic1.items())
    assert alg.learning_rate == 1e-3  # the frozen actor's zero KL does not raise the actor's rate
    alg.desired_kl = 1e-12  # every actor step overshoots: the schedule lowers the actor's rate only
    runner.learn(1)
    assert any(not torch.equal(v, actor1[k]) for k, v in _snapshot(alg.actor).items())
    assert alg.learning_rate < 1e-3 and alg.optimizer.actor.param_groups[0]["lr"] == alg.learning_rate
    assert alg.optimizer.critic.param_groups[0]["lr"] == 3e-3 and alg.num_updates == 2


def test_ppo_learns_from_scaled_rewards(agdm_checkpoint):
    runner = make_runner(agdm_checkpoint)
    obs, alg = runner.env.get_observations(), runner.alg
    with torch.inference_mode():
        alg.act(obs)
        obs, rewards, dones, extras = runner.env.step(alg.transition.actions)
        alg.process_env_step(obs, rewards, dones, extras)
    assert rewards.abs().sum() > 0
    torch.testing.assert_close(alg.storage.rewards[0].squeeze(-1), 0.5 * rewards)


@pytest.mark.parametrize("actor", [{}, {"mode_hold_steps": 4, "waypoint_std": 0.25, "waypoint_noise": False}],
                         ids=["default", "held_modes"])
def test_save_then_resume_continues_identically(agdm_checkpoint, tmp_path, actor):
    first = make_runner(agdm_checkpoint, log_dir=str(tmp_path / "a"), **actor)
    first.learn(2)
    path = tmp_path / "a" / "model_1.pt"
    assert path.is_file() and not list((tmp_path / "a").glob("*.tmp"))
    resumed = make_runner(agdm_checkpoint, seed=1, **actor)
    infos = resumed.load(str(path))
    assert infos["strategy"] == "ram" and infos["agdm"]["provenance"]["test"] is True
    assert resumed.current_learning_iteration == first.current_learning_iteration == 2  # the next iteration to run
    assert resumed.alg.num_updates == first.alg.num_updates == 2
    for a, b in ((first.alg.actor, resumed.alg.actor), (first.alg.critic, resumed.alg.critic)):
        for k, v in _snapshot(a).items():
            assert torch.equal(v, _snapshot(b)[k]), k
    # one more iteration on identical fresh envs and RNG: both runners end in the same place
    saved = _snapshot(first.alg.actor)
    results = []
    for runner in (first, resumed):
        torch.manual_seed(123)
        runner.env = AGDMObservationEnv(FakeUrbanEnv(num_envs=4, seed=5), copy.deepcopy(runner.env.agdm), "ram")
        runner.logger.writer = None
        runner.learn(1)
        results.append(_snapshot(runner.alg.actor))
    for k, v in results[0].items():
        assert torch.equal(v, results[1][k]), k
    assert any(not torch.equal(v, saved[k]) for k, v in results[0].items())


def check_resume_matches_an_uninterrupted_run(agdm_checkpoint, tmp_path):
    """model_N.pt means N + 1 updates in both runs, numbering continues after the resumed checkpoint, and with the
    world in the same state (a real env restarts its episodes instead) the resumed run's files are bit-identical."""
    def run(log_dir, iterations):
        runner = make_runner(agdm_checkpoint, log_dir=str(log_dir))
        runner.cfg["save_interval"] = 1
        runner.learn(iterations)
        return runner

    run(tmp_path / "whole", 3)
    interrupted = run(tmp_path / "first", 2)
    world = interrupted.env  # the env as the interrupted run left it
    resumed = make_runner(agdm_checkpoint, log_dir=str(tmp_path / "resumed"), seed=7)
    resumed.cfg["save_interval"] = 1
    resumed.load(str(tmp_path / "first" / "model_1.pt"))
    assert resumed.current_learning_iteration == 2
    resumed.env = world
    resumed.learn(1)  # --max_iterations 1 after a resume: one more iteration, numbered 2
    assert sorted(p.name for p in (tmp_path / "resumed").glob("model_*.pt")) == ["model_2.pt"]
    whole = torch.load(tmp_path / "whole" / "model_2.pt", weights_only=False)
    again = torch.load(tmp_path / "resumed" / "model_2.pt", weights_only=False)
    assert whole["iter"] == again["iter"] == 2 and whole["num_updates"] == again["num_updates"] == 3
    assert whole["learning_rate"] == again["learning_rate"]
    for part in ("actor_state_dict", "critic_state_dict"):
        for k, v in whole[part].items():
            assert torch.equal(v, again[part][k]), (part, k)
    torch.testing.assert_close(whole["optimizer_state_dict"], again["optimizer_state_dict"], rtol=0, atol=0)
    assert torch.equal(whole["rng_state"]["torch"], again["rng_state"]["torch"])


def test_an_interrupted_and_resumed_run_writes_the_checkpoints_of_an_uninterrupted_one(agdm_checkpoint, tmp_path):
    check_resume_matches_an_uninterrupted_run(agdm_checkpoint, tmp_path)


@pytest.mark.skipif(not torch.backends.mkl.is_available(), reason="torch is not built with MKL")
def test_the_resume_is_exact_also_where_the_gemm_kernel_depends_on_the_batch(agdm_checkpoint, tmp_path):
    """Under MKL_CBWR=COMPATIBLE (read when MKL starts, so in a process of its own) a row of a GEMM changes in the
    last bits with the number of rows (4 vs 16 here), as it does by default on AVX-512 Xeons: the resumed run must
    not compute anything in another batch shape than the uninterrupted one (learn()'s first get_observations()
    once re-encoded the whole frame window in one batch of E * k frames)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, torch; torch.set_num_threads(1); sys.path.insert(0, sys.argv[1]); "
            "from pathlib import Path; from test_rl_runner import check_resume_matches_an_uninterrupted_run as check; "
            "check(sys.argv[2], Path(sys.argv[3]))")
    env = {**os.environ, "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), agdm_checkpoint, str(tmp_path)],
                          capture_output=True, text=True, timeout=110, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_save_killed_mid_write_leaves_the_last_complete_checkpoint_the_latest(agdm_checkpoint, tmp_path, monkeypatch):
    from s2e.rl.run_folders import find_run_checkpoint

    runner = make_runner(agdm_checkpoint)
    (tmp_path / "run").mkdir()
    runner.save(str(tmp_path / "run" / "model_2.pt"))

    def partial_write(obj, f):
        open(f, "wb").write(b"half a checkpoint")
        raise KeyboardInterrupt  # stands in for the kill

    monkeypatch.setattr(torch, "save", partial_write)
    with pytest.raises(KeyboardInterrupt):
        runner.save(str(tmp_path / "run" / "model_3.pt"))
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["model_2.pt"]  # the partial write is cleaned up

    def disk_full(obj, f):
        open(f, "wb").write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runner.save(str(tmp_path / "run" / "model_3.pt"))
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["model_2.pt"]
    # what a kill -9 during the write leaves (a hidden temporary file) is never taken for a checkpoint
    (tmp_path / "run" / ".model_3.pt.tmp").write_bytes(b"half a checkpoint")
    assert find_run_checkpoint(tmp_path).name == "model_2.pt"


def test_checkpoint_errors_are_one_line_and_name_the_file(agdm_checkpoint, tmp_path):
    runner = make_runner(agdm_checkpoint)
    with pytest.raises(RunnerCheckpointError, match="no training checkpoint at"):
        runner.load(str(tmp_path / "missing.pt"))
    corrupt = tmp_path / "model_3.pt"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(RunnerCheckpointError, match="model_3.pt is not a readable training checkpoint"):
        runner.load(str(corrupt))
    other = make_runner(agdm_checkpoint, strategy="decoder")
    other.save(str(tmp_path / "decoder.pt"))
    with pytest.raises(RunnerCheckpointError, match="agent.actor.strategy=decoder"):
        runner.load(str(tmp_path / "decoder.pt"))
    bigger = make_runner(agdm_checkpoint)
    bigger.alg.critic = torch.nn.Linear(3, 3)
    bigger.alg._raw_critic = bigger.alg.critic
    bigger.save(str(tmp_path / "mismatch.pt"))
    with pytest.raises(RunnerCheckpointError, match="does not match this model"):
        runner.load(str(tmp_path / "mismatch.pt"))


def test_anchor_only_exploration_executes_a_modes_mean_trajectory(agdm_checkpoint):
    runner = make_runner(agdm_checkpoint, waypoint_std=0.25, waypoint_noise=False)
    obs, alg = runner.env.get_observations(), runner.alg
    with torch.inference_mode():
        actions = alg.act(obs)
    mu = alg.actor.mixture(obs).mu  # [E, M, W, 2]
    gap = (mu.flatten(2) - actions[:, None, :-1]).abs().amax(-1).amin(-1)
    assert gap.max() == 0  # every row is exactly one mode's mean
    runner.learn(2)  # warm-up, then an actor update with the kernel density
    assert runner.alg.num_updates == 2


def test_mode_temperature_sharpens_the_anchor_draws_and_keeps_the_top_mode(agdm_checkpoint):
    plain_runner = make_runner(agdm_checkpoint, waypoint_std=0.25, waypoint_noise=False)
    plain, obs = plain_runner.alg.actor, plain_runner.env.get_observations()
    sharp = make_runner(agdm_checkpoint, waypoint_std=0.25, waypoint_noise=False, mode_temperature=0.25).alg.actor
    with torch.no_grad():
        best_plain, best_sharp = plain(obs), sharp(obs)
        logits = plain.mixture(obs).logits
        sharp(obs, stochastic_output=True)
        torch.testing.assert_close(sharp._dist.traj.log_weights, torch.log_softmax(logits / 0.25, -1))
        plain(obs, stochastic_output=True)
    assert torch.equal(best_plain, best_sharp)  # play.py's and the export's policy are unchanged
    assert (sharp.output_entropy < plain.output_entropy).all()
    with pytest.raises(ValueError, match="mode_temperature must be > 0"):
        make_runner(agdm_checkpoint, mode_temperature=0.0)


def test_held_mode_noise_keeps_rollout_modes_and_leaves_updates_alone(agdm_checkpoint):
    """mode_hold_steps=k: for k rollout steps an env's Gumbel noise stays; an update's forward passes
    (no rollout step) do not advance it, and an ended episode redraws."""
    runner = make_runner(agdm_checkpoint, waypoint_std=0.25, waypoint_noise=False, mode_hold_steps=3)
    alg, actor = runner.alg, runner.alg.actor
    obs = runner.env.get_observations()
    with torch.inference_mode():
        alg.act(obs)
        noise, age = actor.held_modes.noise.clone(), actor.held_modes.age.clone()
        actor(obs, stochastic_output=True)  # as in PPO.update: not a rollout step
        assert torch.equal(actor.held_modes.age, age) and torch.equal(actor.held_modes.noise, noise)
        obs, rewards, dones, extras = runner.env.step(alg.act(obs))
        assert torch.equal(actor.held_modes.noise, noise)  # second step of three: same noise
        dones = torch.zeros_like(dones)
        dones[0] = 1
        alg.process_env_step(obs, rewards, dones, extras)
        alg.act(obs)
    assert not torch.equal(actor.held_modes.noise[0], noise[0])  # env 0's episode ended: fresh noise
    assert torch.equal(actor.held_modes.noise[1:], noise[1:])
    assert not actor.rollout_step


def test_reference_kl_penalty_starts_at_zero_and_pulls_the_actor_back(agdm_checkpoint):
    """ref_kl_coef > 0: the loss holds coef * KL(actor || checkpoint), the checkpoint being RAM's frozen path."""
    from s2e.rl.action_distribution import MixtureActionDistribution
    from s2e.rl.reference_kl import ReferenceKLPenalty

    runner = make_runner(agdm_checkpoint, algorithm={"ref_kl_coef": 0.5}, waypoint_std=0.25, waypoint_noise=False)
    alg, actor = runner.alg, runner.alg.actor
    assert alg.symmetry is None  # rsl-rl's symmetry slot stays free
    (penalty,) = alg.terms.actor_terms
    assert isinstance(penalty, ReferenceKLPenalty) and penalty.coef == 0.5
    obs = runner.env.get_observations()

    def loss():
        actor(obs, stochastic_output=True)
        return penalty(actor, obs, actor.output_distribution_params)

    assert loss().abs() < 1e-6  # the zero-gated RAM is the checkpoint
    with torch.no_grad():  # move the actor away from the checkpoint through one RAM block's gates
        for gate in (actor.model.agdm.decoder[-1].z_in, actor.model.agdm.decoder[-1].z_out):
            gate.weight.normal_(0.0, 2.0)
    kl = loss()
    expected = MixtureActionDistribution.kl(actor.output_distribution_params, actor.reference_params(obs),
                                            actor.speed_std).mean()
    torch.testing.assert_close(kl, expected)
    assert kl > 1e-3
    # where PPO zeroes a mini-batch's gradients, the terms add coef * their gradient for that forward pass
    params = [p for p in actor.parameters() if p.requires_grad]
    actor(obs, stochastic_output=True)
    expected = 0.5 * penalty(actor, obs, actor.output_distribution_params)
    expected_grads = torch.autograd.grad(expected, params, allow_unused=True)
    actor(obs, stochastic_output=True)
    alg.optimizer.zero_grad()
    for p, g in zip(params, expected_grads):
        if g is None:
            assert p.grad is None or not p.grad.any()
        else:
            torch.testing.assert_close(p.grad, g)
    assert any(g is not None and g.abs().sum() > 0 for g in expected_grads)
    alg.optimizer.zero_grad(set_to_none=True)
    opt = torch.optim.Adam(actor.trainable_parameters(), lr=1e-2)
    for _ in range(20):  # descending the penalty alone brings the actor back towards the checkpoint
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert loss() < 0.5 * kl
    losses = _one_update(runner)
    assert "symmetry" not in losses and losses["kl_ref"] > 0
    # the perturbed gates, pulled back but not all the way, moved the top anchor in some states but kept most
    assert 0.5 < losses["ref_top_mode_agreement"] < 1.0, losses["ref_top_mode_agreement"]
    with pytest.raises(ValueError, match="needs agent.actor.strategy=ram"):
        make_runner(agdm_checkpoint, "decoder", algorithm={"ref_kl_coef": 0.5})


def _one_update(runner) -> dict:
    """One rollout of STEPS steps, then PPO's update: its loss dict."""
    alg = runner.alg
    obs = runner.env.get_observations()
    with torch.inference_mode():
        for _ in range(STEPS):
            obs, rewards, dones, extras = runner.env.step(alg.act(obs))
            alg.process_env_step(obs, rewards, dones, extras)
        alg.compute_returns(obs)
    return alg.update()


def _prefer_last_mode(mu, speed):
    """A hand-made labeler: the last mode scores 2 m of progress, the others 0."""
    labels = torch.zeros(speed.shape)
    labels[:, -1] = 2.0
    return labels


def make_labelled_runner(checkpoint, coef=1.0, labeler=_prefer_last_mode, **algorithm):
    torch.manual_seed(0)
    agdm, _ = load_checkpoint(checkpoint)
    env = AGDMObservationEnv(FakeUrbanEnv(num_envs=4, seed=0), agdm, "ram", labeler=labeler)
    cfg = train_cfg(checkpoint, "ram", {"mode_label_coef": coef, "mode_label_temperature": 0.5, **algorithm},
                    waypoint_std=0.25, waypoint_noise=False)
    return S2ERunner(env, cfg, log_dir=None, device="cpu")


def test_rollouts_store_the_labels_of_the_frozen_modes(agdm_checkpoint):
    seen = []

    def labeler(mu, speed):
        seen.append((mu.clone(), speed.clone()))
        return mu[..., 0].sum(-1)  # any per-mode score

    runner = make_labelled_runner(agdm_checkpoint, labeler=labeler)
    obs = runner.env.get_observations()
    agdm, _ = load_checkpoint(agdm_checkpoint)
    with torch.no_grad():
        frozen = agdm.decode(obs["context"])
    torch.testing.assert_close(seen[-1][0], frozen.mu)
    torch.testing.assert_close(seen[-1][1], frozen.speed)
    torch.testing.assert_close(obs["mode_labels"], frozen.mu[..., 0].sum(-1))
    torch.testing.assert_close(obs["mode_prior"], torch.log_softmax(frozen.logits, -1))
    alg = runner.alg
    with torch.inference_mode():
        for _ in range(STEPS):
            obs, rewards, dones, extras = runner.env.step(alg.act(obs))
            alg.process_env_step(obs, rewards, dones, extras)
    stored = alg.storage.observations
    assert stored["mode_labels"].shape == stored["mode_prior"].shape == (STEPS, 4, 4)


def test_ranking_loss_is_cross_entropy_to_the_label_softmax():
    from s2e.rl.mode_ranking import ranking_loss

    logits = torch.tensor([[0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0, 3.0], [0.0, 0.0, 0.0]])
    target = torch.softmax(labels / 0.5, -1)
    expected = -(target * torch.log_softmax(logits, -1)).sum(-1).mean()
    torch.testing.assert_close(ranking_loss(logits, labels, 0.5), expected)
    # minimized (to the target's entropy) when the scores are the scaled labels
    assert ranking_loss(labels / 0.5, labels, 0.5) < ranking_loss(logits, labels, 0.5)
    # with a prior (log-probabilities) the target is the prior tilted by the labels
    prior = torch.log_softmax(torch.tensor([[0.0, 2.0, 0.0], [1.0, 0.0, -1.0]]), -1)
    tilted = torch.softmax(prior + labels / 0.5, -1)
    torch.testing.assert_close(ranking_loss(logits, labels, 0.5, prior),
                               -(tilted * torch.log_softmax(logits, -1)).sum(-1).mean())


def test_reranked_logits_pick_the_labels_best_mode_and_keep_the_ranking_when_labels_are_equal():
    from s2e.models.mixture import AGDMOutput
    from s2e.rl.mode_ranking import ranking_targets, reranked_logits

    torch.manual_seed(0)
    b, m, w = 3, 5, 4
    out = AGDMOutput(torch.randn(b, m), torch.randn(b, m, w, 2), torch.rand(b, m, w, 2) + 0.1, torch.zeros(b, m, w),
                     torch.rand(b, m) + 0.5, waypoint_dt=0.25)
    labels = torch.zeros(b, m)
    labels[:, 2] = 3.0  # mode 2 makes 3 m more progress than the others
    logits = reranked_logits(out.logits, labels, 0.5)
    torch.testing.assert_close(logits.exp(), ranking_targets(labels, 0.5, torch.log_softmax(out.logits, -1)))
    assert (logits.argmax(-1) == 2).all()
    reranked = dataclasses.replace(out, logits=logits).action("best")
    torch.testing.assert_close(reranked, dataclasses.replace(out, logits=labels).action("best"))
    same = reranked_logits(out.logits, torch.full((b, m), 1.5), 0.5)  # equal labels tilt nothing
    torch.testing.assert_close(same, torch.log_softmax(out.logits, -1))
    assert (reranked_logits(out.logits, labels, 0.5, prior=False).argmax(-1) == 2).all()


def test_with_the_prior_and_equal_labels_the_checkpoint_is_already_the_optimum(agdm_checkpoint):
    """Equal labels tilt nothing: at the zero-gated RAM (the checkpoint) the ranking loss has no gradient."""
    runner = make_labelled_runner(agdm_checkpoint, labeler=lambda mu, speed: torch.full(speed.shape, 1.5))
    actor, (term,) = runner.alg.actor, runner.alg.terms.actor_terms
    obs = runner.env.get_observations()
    actor(obs, stochastic_output=True)
    logits = actor.output_distribution_params[0]
    logits.retain_grad()
    term(actor, obs, actor.output_distribution_params).backward()
    assert logits.grad.abs().max() < 1e-6


def test_ranking_loss_moves_only_ram_and_raises_the_labelled_mode(agdm_checkpoint):
    runner = make_labelled_runner(agdm_checkpoint, coef=5.0, critic_warmup_iterations=0)
    actor = runner.alg.actor
    obs = runner.env.get_observations()
    with torch.no_grad():
        actor(obs)
        q_before = actor._dist.traj.log_weights.exp()[:, -1].mean()
    before = _snapshot(actor)
    losses = [_one_update(runner) for _ in range(3)]
    assert all("rank" in l and "symmetry" not in l for l in losses)
    # the checkpoint seldom ranks the labelled (last) mode first; the loss makes it the top anchor everywhere
    agreement = [l["label_top_mode_agreement"] for l in losses]
    assert agreement[0] < 0.5 and agreement[0] < agreement[1] <= agreement[2] == 1.0, agreement
    after = _snapshot(actor)
    changed = {k for k in after if not torch.equal(after[k], before[k])}
    is_ram = lambda name: ".branch." in name or ".z_in." in name or ".z_out." in name  # noqa: E731
    assert changed and all(is_ram(k) for k in changed), sorted(k for k in changed if not is_ram(k))[:5]
    with torch.no_grad():
        actor(runner.env.get_observations())
        q_after = actor._dist.traj.log_weights.exp()[:, -1].mean()
    assert q_after > q_before + 0.01, (q_before, q_after)


def test_the_ranking_phase_fits_the_labels_with_its_own_step_and_moves_only_ram(agdm_checkpoint):
    """mode_label_epochs > 0 (the loss off in PPO's update): after PPO's update the ranking phase raises the labelled
    mode beyond what PPO alone does from the same state, changes only RAM, and does nothing in the critic warm-up."""
    def last_mode_probability(runner):
        with torch.no_grad():
            runner.alg.actor(runner.env.get_observations())
            return runner.alg.actor._dist.traj.log_weights.exp()[:, -1].mean().item()

    plain = make_labelled_runner(agdm_checkpoint, coef=0.0, critic_warmup_iterations=0)
    fitted = make_labelled_runner(agdm_checkpoint, coef=0.0, critic_warmup_iterations=0, mode_label_epochs=4,
                                  mode_label_learning_rate=1e-2)
    q0 = last_mode_probability(fitted)
    before = _snapshot(fitted.alg.actor)
    _one_update(plain)
    logs = _one_update(fitted)
    assert set(logs) >= {"rank_fit", "rank_fit_agreement"} and "rank" not in logs
    # four epochs of its own step fit the labels: the labelled mode is the top anchor of every state in the last pass
    assert logs["rank_fit_agreement"] == 1.0, logs
    changed = {k for k, v in _snapshot(fitted.alg.actor).items() if not torch.equal(v, before[k])}
    is_ram = lambda name: ".branch." in name or ".z_in." in name or ".z_out." in name  # noqa: E731
    assert changed and all(is_ram(k) for k in changed), sorted(k for k in changed if not is_ram(k))[:5]
    assert last_mode_probability(fitted) > max(q0, last_mode_probability(plain)) + 0.05

    warming = make_labelled_runner(agdm_checkpoint, coef=0.0, critic_warmup_iterations=1, mode_label_epochs=4)
    before = _snapshot(warming.alg.actor)
    logs = _one_update(warming)
    assert "rank_fit" not in logs and all(torch.equal(v, before[k]) for k, v in _snapshot(warming.alg.actor).items())


def test_the_ranking_phase_optimizer_is_saved_and_restored(agdm_checkpoint):
    """Exact resume: the ranking phase's own Adam state travels with the checkpoint."""
    settings = {"critic_warmup_iterations": 0, "mode_label_epochs": 2}
    first = make_labelled_runner(agdm_checkpoint, coef=0.0, **settings)
    _one_update(first)
    state = first.alg.save()
    moments = state["ranking_fit_optimizer"]["state"]
    assert moments and all(v["exp_avg"].abs().sum() > 0 for v in moments.values())
    resumed = make_labelled_runner(agdm_checkpoint, coef=0.0, **settings)
    resumed.alg.load(state, None, True)
    fits = (first.alg.terms.ranking_fit, resumed.alg.terms.ranking_fit)
    for a, b in zip(fits[0].optimizer.state.values(), fits[1].optimizer.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in ("exp_avg", "exp_avg_sq", "step"))


def test_mode_label_settings_are_checked(agdm_checkpoint):
    with pytest.raises(ValueError, match="mode_label_coef and mode_label_temperature must be > 0"):
        make_labelled_runner(agdm_checkpoint, mode_label_temperature=0.0)
    runner = make_runner(agdm_checkpoint, algorithm={"mode_label_coef": 1.0, "critic_warmup_iterations": 0},
                         waypoint_std=0.25, waypoint_noise=False)  # no labeler on the env
    with pytest.raises(KeyError, match="AGDMObservationEnv\\(labeler=...\\)"):
        _one_update(runner)


def test_actor_rejects_a_checkpoint_for_another_action_size(agdm_checkpoint):
    from s2e.rl.policy import AGDMActor

    obs = {"context": torch.zeros(2, 5, 32)}
    plain = {"checkpoint": agdm_checkpoint, "strategy": "ram", "speed_std": 0.0, **PLAIN_MIXTURE}
    with pytest.raises(ValueError, match="use a matching task or checkpoint"):
        AGDMActor(obs, {}, "actor", 7, **plain)
    with pytest.raises(ValueError, match="unknown fine-tuning strategy 'lora'"):
        AGDMActor(obs, {}, "actor", 21, **{**plain, "strategy": "lora"})
    with pytest.raises(ValueError, match="needs waypoint_std > 0"):
        AGDMActor(obs, {}, "actor", 21, **{**plain, "waypoint_noise": False})


def test_two_process_gloo_run_keeps_the_ranks_in_sync(agdm_checkpoint, tmp_path):
    """torchrun, 2 CPU processes: parameters are broadcast at the start and gradients averaged, so
    both ranks (different env seeds) hold the same, updated policy; only rank 0 writes the run."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("distributed_fake_train.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29517",
           str(script), agdm_checkpoint, str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank_{r}.pt") for r in (0, 1))
    assert r0["changed"] and r0["changed"] == r1["changed"]
    for k, v in r0["after"].items():
        torch.testing.assert_close(v, r1["after"][k], rtol=0, atol=0)
    assert (tmp_path / "run" / "model_1.pt").is_file() and not (tmp_path / "run" / "rank_1").exists()


@pytest.mark.parametrize("strategy", ["ram", "full"])
def test_exported_torchscript_and_onnx_policies_match_pytorch(agdm_checkpoint, tmp_path, strategy):
    from s2e.rl.export import DeployablePolicy, export_policy

    runner = make_runner(agdm_checkpoint, strategy)
    runner.learn(1)  # RAM branches / weights moved away from the checkpoint
    actor = runner.alg.actor.eval()
    g = torch.Generator().manual_seed(0)
    images, goal = torch.rand(3, 4, 3, 32, 32, generator=g), torch.randn(3, 2, generator=g) * 5
    result = export_policy(actor.deploy_model(), images, goal, tmp_path)
    assert max(result["max_abs_error"].values()) <= 1e-4
    # the deployed action is the actor's deterministic action on the same observation
    with torch.no_grad():
        agdm = actor.agdm
        obs = {"frames": (images * 255).round().to(torch.uint8), "goal": goal} if strategy == "full" else \
            {"context": agdm.fuse(agdm.encode_frames(images), goal)}
        expected = actor(obs, stochastic_output=False)
        images_q = obs["frames"].float() / 255 if strategy == "full" else images
        torch.testing.assert_close(DeployablePolicy(actor.deploy_model())(images_q, goal), expected, rtol=0, atol=1e-5)
    # both exported graphs take other batch sizes
    assert torch.jit.load(result["torchscript"])(images[:1], goal[:1]).shape == (1, 21)
    import onnxruntime as ort

    session = ort.InferenceSession(result["onnx"], providers=["CPUExecutionProvider"])
    assert session.run(["action"], {"images": images[:2].numpy(), "goal": goal[:2].numpy()})[0].shape == (2, 21)
    # the ONNX file deploys alone: copied to another folder, it loads and gives the same actions
    assert sorted(p.name for p in tmp_path.iterdir()) == ["policy.onnx", "policy.pt"]
    robot = tmp_path / "robot"
    robot.mkdir()
    shutil.copy(result["onnx"], robot / "policy.onnx")
    alone = ort.InferenceSession(str(robot / "policy.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(alone.run(["action"], {"images": images.numpy(), "goal": goal.numpy()})[0],
                               DeployablePolicy(actor.deploy_model())(images, goal).detach().numpy(), atol=1e-4, rtol=0)
    # a second export replaces the files in place and leaves no temporary file
    export_policy(actor.deploy_model(), images, goal, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["policy.onnx", "policy.pt"]



@pytest.mark.parametrize("strategy", ["ram", "decoder"])
def test_a_trained_checkpoint_loads_for_evaluation_without_the_runner(agdm_checkpoint, tmp_path, strategy):
    from s2e.rl.trained_policy import load_trained_model

    runner = make_runner(agdm_checkpoint, strategy)
    runner.learn(2)  # the first update only warms the critic up
    runner.save(str(tmp_path / "model_1.pt"))
    model, info = load_trained_model(tmp_path / "model_1.pt")
    assert info["strategy"] == strategy and info["iteration"] == runner.current_learning_iteration - 1
    g = torch.Generator().manual_seed(1)
    images, goal = torch.rand(2, 4, 3, 32, 32, generator=g), torch.randn(2, 2, generator=g) * 5
    with torch.no_grad():
        trained = runner.alg.actor.eval().deploy_model()(images, goal).action("best")
        loaded = model(images, goal).action("best")
        untouched = load_checkpoint(agdm_checkpoint)[0](images, goal).mu
        assert not torch.equal(model(images, goal).mu, untouched)  # the fine-tuned weights, not the checkpoint's
    torch.testing.assert_close(loaded, trained, rtol=0, atol=1e-6)
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RunnerCheckpointError, match="broken.pt is not a readable training checkpoint"):
        load_trained_model(tmp_path / "broken.pt")


def test_either_kind_of_policy_file_loads_for_evaluation(agdm_checkpoint, tmp_path):
    """compare_policies.py and the held-out check take an AGDM checkpoint or a train_ram.py checkpoint alike."""
    from s2e.models.checkpoint import CheckpointError
    from s2e.rl.trained_policy import is_training_checkpoint, load_policy_model

    runner = make_runner(agdm_checkpoint)
    runner.save(str(tmp_path / "model_0.pt"))  # zero-gated RAM: the checkpoint's own policy
    assert is_training_checkpoint(tmp_path / "model_0.pt") and not is_training_checkpoint(agdm_checkpoint)
    g = torch.Generator().manual_seed(2)
    images, goal = torch.rand(3, 4, 3, 32, 32, generator=g), torch.randn(3, 2, generator=g) * 5
    run_model, run_info = load_policy_model(tmp_path / "model_0.pt")
    agdm_model, agdm_info = load_policy_model(agdm_checkpoint)
    assert run_info["strategy"] == "ram" and agdm_info["strategy"] is None and not agdm_model.training
    with torch.no_grad():
        torch.testing.assert_close(run_model(images, goal).action("best"), agdm_model(images, goal).action("best"),
                                   rtol=0, atol=1e-6)
    (tmp_path / "noise.pt").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError):
        load_policy_model(tmp_path / "noise.pt")


def test_a_shipped_policy_loads_beside_its_agdm_checkpoint(agdm_checkpoint, tmp_path):
    """ship_policy: the actor's weights only, naming its AGDM checkpoint by file name; loads from any working folder."""
    import shutil

    from s2e.rl.trained_policy import load_policy_model, ship_policy

    runner = make_runner(agdm_checkpoint)
    runner.learn(2)
    runner.save(str(tmp_path / "model_1.pt"))
    assets = tmp_path / "assets"
    assets.mkdir()
    shutil.copy(agdm_checkpoint, assets / "base.pt")
    meta = ship_policy(tmp_path / "model_1.pt", assets / "tuned.pt", assets / "base.pt", {"recipe": "test"})
    assert meta["agdm_checkpoint"] == "base.pt" and meta["recipe"] == "test" and (assets / "tuned.json").is_file()
    shipped = torch.load(assets / "tuned.pt", weights_only=False)
    assert (set(shipped) == {"actor_state_dict", "iter", "infos"} and (assets / "tuned.pt").stat().st_size
            < (tmp_path / "model_1.pt").stat().st_size)
    g = torch.Generator().manual_seed(3)
    images, goal = torch.rand(2, 4, 3, 32, 32, generator=g), torch.randn(2, 2, generator=g) * 5
    model, info = load_policy_model(assets / "tuned.pt")
    with torch.no_grad():
        torch.testing.assert_close(model(images, goal).action("best"),
                                   runner.alg.actor.eval().deploy_model()(images, goal).action("best"), rtol=0,
                                   atol=1e-6)
    assert info["strategy"] == "ram"
    other, _ = load_checkpoint(agdm_checkpoint)  # another AGDM file under the same name: refused
    with torch.no_grad():
        other.score_head[0].weight.add_(1.0)
    save_checkpoint(assets / "base.pt", other)
    with pytest.raises(RunnerCheckpointError, match="sha256 differs"):
        load_policy_model(assets / "tuned.pt")
    with pytest.raises(RunnerCheckpointError, match="must be written beside its AGDM checkpoint"):
        ship_policy(tmp_path / "model_1.pt", tmp_path / "elsewhere.pt", assets / "base.pt", {})


def test_group_advantages_add_the_leave_one_out_term_after_normalization(agdm_checkpoint):
    """Same seed, same rollout: with group_advantage_coef the stored advantages are plain PPO's normalized ones plus
    coef * (episode return - the peer's return of the same episode number), on the steps of each episode that ended
    in the rollout and whose peer (groups of 2) ended that episode too; computed here by hand from the stored
    rewards."""
    coef = 0.5
    plain = make_runner(agdm_checkpoint, algorithm={"critic_warmup_iterations": 0}, seed=2)
    plain_logs = _one_update(plain)
    grouped = make_runner(agdm_checkpoint, algorithm={"critic_warmup_iterations": 0, "group_size": 2,
                                                      "group_advantage_coef": coef}, seed=2)
    grouped_logs = _one_update(grouped)
    rewards, dones = grouped.alg.storage.rewards[..., 0], grouped.alg.storage.dones[..., 0].bool()
    torch.testing.assert_close(rewards, plain.alg.storage.rewards[..., 0])
    episodes = {}  # (env, episode number) -> (return, steps)
    for e in range(4):
        k, ret, steps = 0, 0.0, []
        for t in range(STEPS):
            ret, steps = ret + float(rewards[t, e]), steps + [t]
            if dones[t, e]:
                episodes[e, k] = (ret, steps)
                k, ret, steps = k + 1, 0.0, []
    expected = torch.zeros(STEPS, 4)
    for (e, k), (ret, steps) in episodes.items():
        if (e ^ 1, k) in episodes:
            expected[steps, e] = coef * (ret - episodes[e ^ 1, k][0])
    assert expected.abs().sum() > 0, "the fake env's seed gives no pair of ended episodes: pick another"
    diff = grouped.alg.storage.advantages[..., 0] - plain.alg.storage.advantages[..., 0]
    torch.testing.assert_close(diff, expected, rtol=0, atol=1e-5)
    assert "group_coverage" in grouped_logs and "group_coverage" not in plain_logs


def test_group_settings_are_checked(agdm_checkpoint):
    with pytest.raises(ValueError, match="needs group_size >= 2"):
        make_runner(agdm_checkpoint, algorithm={"group_advantage_coef": 1.0})


def test_rank_only_training_moves_the_scores_and_keeps_the_checkpoints_trajectories(agdm_checkpoint, tmp_path):
    """agent.actor.rank_only: after updates the fine-tuned scores differ from the checkpoint's while every trajectory,
    spread and speed is the frozen path's to the bit (the checkpoint's up to float rounding); the flag travels with
    the saved checkpoint to evaluation."""
    from s2e.rl.trained_policy import load_trained_model

    runner = make_runner(agdm_checkpoint, rank_only=True)
    runner.learn(3)
    runner.save(str(tmp_path / "model_2.pt"))
    model, info = load_trained_model(tmp_path / "model_2.pt")
    assert info["rank_only"] is True
    g = torch.Generator().manual_seed(3)
    images, goal = torch.rand(3, 4, 3, 32, 32, generator=g), torch.randn(3, 2, generator=g) * 5
    with torch.no_grad():
        tuned, frozen = model(images, goal), model.reference_decode(model.context(images, goal))
        ref = load_checkpoint(agdm_checkpoint)[0].eval()(images, goal)
    for name in ("mu", "sigma", "rho", "speed"):
        assert torch.equal(getattr(tuned, name), getattr(frozen, name)), name
        torch.testing.assert_close(getattr(tuned, name), getattr(ref, name), rtol=0, atol=1e-5)
    assert not torch.allclose(tuned.logits, ref.logits, atol=1e-6), "PPO moved no score"
    with pytest.raises(ValueError, match="rank_only needs strategy 'ram'"):
        make_runner(agdm_checkpoint, "decoder", rank_only=True)
    with pytest.raises(RunnerCheckpointError, match="trained with rank_only=True.*set agent.actor.rank_only=true"):
        make_runner(agdm_checkpoint).load(str(tmp_path / "model_2.pt"))
