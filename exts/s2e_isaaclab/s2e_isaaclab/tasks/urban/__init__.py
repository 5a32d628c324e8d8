"""S2E-Urban navigation tasks: procedural city blocks, obstacles, pedestrians; wheeled robot and Go2."""

import gymnasium as gym

_CFG = f"{__name__}.config"

for robot, module in (("Wheeled", "wheeled"), ("Quadruped", "quadruped")):
    for suffix, cls in (("", "EnvCfg"), ("-Play", "EnvCfg_PLAY")):
        gym.register(
            id=f"S2E-Urban-{robot}{suffix}",
            entry_point="s2e_isaaclab.tasks.urban.env:UrbanNavEnv",
            disable_env_checker=True,
            kwargs={
                "env_cfg_entry_point": f"{_CFG}.{module}.env_cfg:{cls}",
                "rsl_rl_cfg_entry_point": f"{_CFG}.{module}.agents.rsl_rl_ppo_cfg:PPORunnerCfg",
                "s2e_rl_cfg_entry_point": f"{_CFG}.{module}.agents.rsl_rl_ppo_cfg:S2ERunnerCfg",
                "default_agent": "rsl_rl",
            },
        )
