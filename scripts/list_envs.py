"""List the S2E task ids (the same ones `./isaaclab.sh list_envs` shows through the entry point).

    ./isaaclab.sh -p scripts/list_envs.py
"""

import gymnasium as gym

from s2e_isaaclab.utils.cli import s2e_task_ids


def main() -> None:
    for task in s2e_task_ids():
        spec = gym.spec(task)
        print(f"{task:28s} {spec.kwargs['env_cfg_entry_point']}")


if __name__ == "__main__":
    main()
