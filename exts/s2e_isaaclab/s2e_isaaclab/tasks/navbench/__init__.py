"""NavBench-GS tasks: NavBench-GS-{Empty,Obstacle,Pedestrian,Mixed}-{Wheeled,Quadruped}."""

import gymnasium as gym

from .navbench_env_cfg import ROBOTS, TASK_CONTENT, task_id

for _robot in ROBOTS:
    for _task in TASK_CONTENT:
        gym.register(
            id=task_id(_task, _robot),
            entry_point="s2e_isaaclab.tasks.urban.env:UrbanNavEnv",
            disable_env_checker=True,
            kwargs={
                "env_cfg_entry_point": f"{__name__}.navbench_env_cfg:{_task}{_robot}EnvCfg",
                "s2e_rl_cfg_entry_point":
                    f"s2e_isaaclab.tasks.urban.config.{_robot.lower()}.agents.rsl_rl_ppo_cfg:S2ERunnerCfg",
            },
        )
