"""rsl-rl settings of S2E-Urban-Wheeled: the shared urban settings, own experiment folders."""

from isaaclab.utils import configclass

from ....agents import S2ERunnerCfg as _S2ERunnerCfg
from ....agents import UrbanPPORunnerCfg


@configclass
class PPORunnerCfg(UrbanPPORunnerCfg):
    experiment_name = "s2e_urban_wheeled"


@configclass
class S2ERunnerCfg(_S2ERunnerCfg):
    experiment_name = "s2e_ram_wheeled"
