"""rsl-rl PPO settings of S2E-Urban-Wheeled (the shared urban settings, own experiment folder)."""

from isaaclab.utils import configclass

from ....agents import UrbanPPORunnerCfg


@configclass
class PPORunnerCfg(UrbanPPORunnerCfg):
    experiment_name = "s2e_urban_wheeled"
