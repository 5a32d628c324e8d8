"""Numeric settings out of their range are one line naming the setting, its value and its range."""

from types import SimpleNamespace as NS

from s2e_isaaclab.utils.cfg_ranges import range_problem


def _agent(**algorithm):
    base = dict(learning_rate=1e-4, gamma=0.99, lam=0.95, clip_param=0.2, value_loss_coef=1.0, entropy_coef=0.0,
                max_grad_norm=1.0, desired_kl=None, num_learning_epochs=4, num_mini_batches=2)
    return NS(algorithm=NS(**{**base, **algorithm}), num_steps_per_env=64, max_iterations=10, save_interval=5)


def test_settings_in_range_pass_and_missing_ones_are_skipped():
    assert range_problem(NS(episode_length_s=90.0), _agent()) is None  # no camera, no scene: skipped
    assert range_problem(NS(episode_length_s=90.0), None) is None
    assert range_problem(NS(), _agent(lam=0.0, gamma=1.0, desired_kl=0.01)) is None  # closed bounds, optional given


def test_each_kind_of_bad_value_names_the_setting_and_its_range():
    assert (range_problem(NS(), _agent(learning_rate=0.0))
            == "agent.algorithm.learning_rate=0.0: out of range, it takes a number > 0")
    assert (range_problem(NS(), _agent(lam=1.01))
            == "agent.algorithm.lam=1.01: out of range, it takes a number >= 0 and <= 1")
    assert "an integer >= 1" in range_problem(NS(), _agent(num_mini_batches=1.5))
    assert "agent.algorithm.entropy_coef=True" in range_problem(NS(), _agent(entropy_coef=True))  # a bool is no number
    assert "agent.algorithm.clip_param=nan" in range_problem(NS(), _agent(clip_param=float("nan")))
    assert (range_problem(NS(scene=NS(num_envs=0)), None)
            == "env.scene.num_envs=0: out of range, it takes an integer >= 1")
