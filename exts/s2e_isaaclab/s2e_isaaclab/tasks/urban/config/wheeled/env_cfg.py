"""S2E-Urban-Wheeled: the differential-drive sidewalk delivery robot."""

from isaaclab.utils import configclass

from .....robots import DELIVERY_BOT, delivery_bot_cfg
from ...urban_env_cfg import UrbanNavEnvCfg


@configclass
class EnvCfg(UrbanNavEnvCfg):
    def __post_init__(self):
        self.scene.robot = delivery_bot_cfg()
        self.actions.nav.robot = DELIVERY_BOT
        self.commands.nav.robot = DELIVERY_BOT
        self.commands.nav.route.clearance = DELIVERY_BOT.radius + 0.3
        self.terminations.fallen = None
        super().__post_init__()


@configclass
class EnvCfg_PLAY(EnvCfg):
    def __post_init__(self):
        super().__post_init__()
        self.scene.num_envs = 4
