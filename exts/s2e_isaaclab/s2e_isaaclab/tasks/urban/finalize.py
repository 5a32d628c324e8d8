"""`finalize`: every S2E setting that follows from another, derived and checked in one place.

Isaac Lab builds a task's configs from their classes and then applies the command line's Hydra overrides, so
a setting computed in a cfg's `__post_init__` from another would not follow an override of that other. The
settings below are therefore derived after the overrides, by `finalize(env_cfg, agent_cfg)`: the project's
scripts call it where they build their configs (utils/cli.build_cfgs), and the tasks' env class
(`UrbanNavEnv`) calls it on its env cfg before the env is built, so Isaac Lab's own `train.py` / `play.py`
run the tasks with the same derived settings. It is idempotent, and a bad combination is a `SettingsError`:
one line naming the setting and the fix.

Derived:
- the control mode's physics (`env.control_mode` -> the action's mode, gravity, render interval, and the
  mode's step when the step is still the other mode's default);
- the seeds of the blocks and of the episodes from `env.seed`;
- a scene bundle's route clearance from the robot's (`env.commands.nav.route.clearance`);
- same-start groups: `agent.algorithm.loss_terms.group_size` (S2E runner) -> `env.commands.nav.group_size` ->
  `env.scene.terrain.envs_per_block`;
- the S2E runner's actor observations from its strategy, and the agent's device from the env's.
Checked: numeric ranges (utils/cfg_ranges), the groups against the env count, the appearance family the task may
draw, the episode pool, the held-out check, the strategy, and that a scene bundle can host the task's episodes.
"""

from __future__ import annotations

import math
from pathlib import Path


class SettingsError(ValueError):
    """Settings that do not fit together: one line naming the setting and the fix."""


_HOSTING_BUNDLES: set[tuple[str, str]] = set()
"""(bundle folder, route settings) already found to host the task's episodes in this process."""

# (sim.dt, decimation) of each control mode; urban_env_cfg.apply_control_mode sets them with the mode.
MODE_STEPS = {"joint": (0.005, 20), "base": (0.1, 1)}


def finalize(env_cfg, agent_cfg=None) -> None:
    """Derive the dependent settings of an S2E task's env cfg (and its agent cfg, when given) and check them."""
    from ...utils.cfg_ranges import range_problem

    if agent_cfg is not None:
        _finalize_agent(env_cfg, agent_cfg)
    _finalize_env(env_cfg)
    problem = range_problem(env_cfg, agent_cfg)
    if problem:
        raise SettingsError(problem)


def _finalize_env(cfg) -> None:
    from .urban_env_cfg import held_out_appearance

    _derive_control_mode(cfg)
    terrain, nav = getattr(cfg.scene, "terrain", None), getattr(cfg.commands, "nav", None)
    if terrain is None or nav is None:
        return
    if cfg.seed is not None:
        terrain.seed = nav.seed = int(cfg.seed)
    g, envs = nav.group_size, cfg.scene.num_envs
    if not isinstance(g, int) or g < 1 or envs % g:
        raise SettingsError(f"env.commands.nav.group_size={g} must be >= 1 and divide the {envs} envs: choose a "
                            "divisor of --num_envs")
    terrain.envs_per_block = g
    if getattr(nav, "episode_pool_size", 1) < 1:
        raise SettingsError(f"env.commands.nav.episode_pool_size={nav.episode_pool_size}: plan at least 1 episode per "
                            "env")
    problem = held_out_appearance(cfg)
    if problem:
        raise SettingsError(problem)
    if getattr(terrain, "scene_bundle", None):
        terrain.route_clearance = nav.route.clearance
        key = (str(Path(terrain.scene_bundle).resolve()), repr(nav.route))
        # episodes drawn on the bundle, not read from a file: do they fit? (once per bundle and route: finalize runs at
        # every place configs are built, and loading a bundle reads its Gaussians)
        if not getattr(nav, "episode_file", None) and key not in _HOSTING_BUNDLES:
            from s2e.urban.scene_bundle import check_hosts_episodes, load_scene_bundle

            try:
                check_hosts_episodes(load_scene_bundle(terrain.scene_bundle, nav.route.clearance), nav.route)
            except ValueError as err:
                raise SettingsError(str(err)) from None
            _HOSTING_BUNDLES.add(key)


def _derive_control_mode(cfg) -> None:
    """The action's mode, gravity and render interval follow `control_mode`; so does the physics step while it is
    the other mode's (an override of the mode alone), and an explicit step is kept."""
    from . import mdp

    mode = getattr(cfg, "control_mode", None)
    if mode is None:
        return
    if mode not in mdp.actions.CONTROL_MODES:
        raise SettingsError(f"env.control_mode={mode!r}: choose one of {', '.join(mdp.actions.CONTROL_MODES)}")
    other = next(m for m in MODE_STEPS if m != mode)
    if math.isclose(cfg.sim.dt, MODE_STEPS[other][0]) and cfg.decimation == MODE_STEPS[other][1]:
        cfg.sim.dt, cfg.decimation = MODE_STEPS[mode]
    cfg.actions.nav.mode = mode
    cfg.sim.gravity = (0.0, 0.0, -9.81) if mode == "joint" else (0.0, 0.0, 0.0)
    cfg.sim.render_interval = cfg.decimation


def _finalize_agent(env_cfg, agent_cfg) -> None:
    agent_cfg.device = env_cfg.sim.device
    actor, algorithm = getattr(agent_cfg, "actor", None), agent_cfg.algorithm
    strategy = getattr(actor, "strategy", None)
    if strategy is not None:  # the S2E runner
        from s2e.rl.policy import STRATEGIES

        if strategy == "sft":
            raise SettingsError("strategy sft is supervised, not PPO: collect expert demonstrations in the task "
                                "(scripts/collect_demos.py) and fine-tune with scripts/pretrain_agdm.py "
                                "init_checkpoint=<agdm.pt> (docs/rl.md)")
        if strategy not in STRATEGIES:
            raise SettingsError(f"agent.actor.strategy={strategy}: choose one of {', '.join(STRATEGIES)}")
        agent_cfg.set_strategy(strategy)
    held_out = getattr(agent_cfg, "held_out", None)
    if held_out is not None and held_out.enabled and (held_out.every < 0 or held_out.num_envs < 1
                                                      or held_out.episodes_per_env < 1 or not held_out.seeds):
        raise SettingsError(f"invalid held-out check settings (every={held_out.every}, num_envs={held_out.num_envs}, "
                            f"episodes_per_env={held_out.episodes_per_env}, seeds={held_out.seeds}): every >= 0, the "
                            "others >= 1, or agent.held_out.enabled=false")
    terms = getattr(algorithm, "loss_terms", None)
    if terms is not None:  # same-start groups: the algorithm's size is the env's
        g, coef = terms.group_size, terms.group_advantage_coef
        if coef < 0 or (coef > 0 and g < 2):
            raise SettingsError(f"agent.algorithm.loss_terms.group_advantage_coef={coef} needs >= 0 and, when > 0, "
                                "agent.algorithm.loss_terms.group_size >= 2")
        nav = getattr(env_cfg.commands, "nav", None)
        if nav is not None:
            if not isinstance(g, int) or g < 1 or env_cfg.scene.num_envs % g:
                raise SettingsError(f"agent.algorithm.loss_terms.group_size={g} must be >= 1 and divide the "
                                    f"{env_cfg.scene.num_envs} envs: choose a divisor of --num_envs")
            if nav.group_size not in (1, g):  # set on the env while the runner has its own size: say which one counts
                raise SettingsError(f"env.commands.nav.group_size={nav.group_size} differs from "
                                    f"agent.algorithm.loss_terms.group_size={g}: with the S2E runner set "
                                    "agent.algorithm.loss_terms.group_size (the env's follows)")
            nav.group_size = g
