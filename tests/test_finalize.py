"""The task package's `finalize`: settings that follow others are derived after the overrides, on the real task cfgs."""

from __future__ import annotations

import pytest


def _cfgs(*overrides: str, task: str = "S2E-Urban-Wheeled"):
    from isaaclab_tasks.utils.hydra import resolve_task_config

    import s2e_isaaclab.tasks  # noqa: F401  (registers the tasks)

    return resolve_task_config(task, "s2e_rl_cfg_entry_point", overrides=list(overrides))


def test_an_overridden_control_mode_brings_its_physics():
    from s2e_isaaclab.tasks.urban.finalize import finalize

    env, agent = _cfgs("env.control_mode=base")
    # Hydra alone: the class's joint step
    assert (env.sim.dt, env.decimation, env.actions.nav.mode) == (0.005, 20, "joint")
    finalize(env, agent)
    assert (env.sim.dt, env.decimation, env.actions.nav.mode, env.sim.gravity) == (0.1, 1, "base", (0.0, 0.0, 0.0))
    assert env.sim.render_interval == 1
    env, _ = _cfgs("env.control_mode=base", "env.sim.dt=0.05", "env.decimation=2")
    finalize(env)
    assert (env.sim.dt, env.decimation, env.actions.nav.mode) == (0.05, 2, "base")  # an explicit step is kept


def test_seeds_groups_strategy_and_device_follow_and_finalize_is_idempotent():
    from s2e_isaaclab.tasks.urban.finalize import finalize

    env, agent = _cfgs("env.seed=7", "agent.algorithm.loss_terms.group_size=4", "agent.actor.strategy=full",
                       "env.sim.device=cpu")

    def derived():
        return (env.scene.terrain.seed, env.commands.nav.seed, env.commands.nav.group_size,
                env.scene.terrain.envs_per_block, agent.obs_groups["actor"], agent.device)

    finalize(env, agent)
    once = derived()
    assert once == (7, 7, 4, 4, ["frames", "goal"], "cpu")
    finalize(env, agent)
    assert derived() == once
    plain, _ = _cfgs("env.commands.nav.group_size=2")  # no S2E runner (Isaac Lab's train.py): the env's own size
    finalize(plain)
    assert plain.scene.terrain.envs_per_block == 2


@pytest.mark.parametrize("overrides, line", [
    (["agent.algorithm.loss_terms.group_size=3"],
     "agent.algorithm.loss_terms.group_size=3 must be >= 1 and divide the 16 envs: choose a divisor of --num_envs"),
    (["agent.algorithm.loss_terms.group_advantage_coef=1.0"],
     "agent.algorithm.loss_terms.group_advantage_coef=1.0 needs >= 0 and, when > 0, "
     "agent.algorithm.loss_terms.group_size >= 2"),
    (["env.commands.nav.group_size=5"],
     "env.commands.nav.group_size=5 must be >= 1 and divide the 16 envs: choose a divisor of --num_envs"),
    (["agent.actor.strategy=lora"], "agent.actor.strategy=lora: choose one of ram, decoder, full"),
    (["env.control_mode=wheels"], "env.control_mode='wheels': choose one of joint, base"),
    (["env.scene.camera.appearance=shift"], "env.scene.camera.appearance='shift' is held out for NavBench-GS"),
    (["agent.algorithm.learning_rate=-1"], "agent.algorithm.learning_rate=-1: out of range, it takes a number > 0"),
])
def test_settings_that_do_not_fit_are_one_line(overrides, line):
    from s2e_isaaclab.tasks.urban.finalize import SettingsError, finalize

    env, agent = _cfgs(*overrides)
    if "env.commands.nav.group_size=5" in overrides:
        agent = None  # the env's own groups (a plain runner)
    with pytest.raises(SettingsError) as err:
        finalize(env, agent)
    assert str(err.value).startswith(line) and "\n" not in str(err.value)


def test_an_env_group_size_beside_the_runners_own_is_refused():
    from s2e_isaaclab.tasks.urban.finalize import SettingsError, finalize

    env, agent = _cfgs("env.commands.nav.group_size=2")  # the S2E runner's loss_terms.group_size (1) is the home
    with pytest.raises(SettingsError, match="set agent.algorithm.loss_terms.group_size"):
        finalize(env, agent)
