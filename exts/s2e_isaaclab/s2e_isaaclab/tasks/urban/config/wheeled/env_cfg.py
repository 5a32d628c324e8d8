"""S2E-Urban-Wheeled: the differential-drive sidewalk delivery robot."""

from isaaclab.utils import configclass

from .....robots import DELIVERY_BOT, delivery_bot_cfg
from ...urban_env_cfg import UrbanNavEnvCfg, play_variant, use_robot


@configclass
class EnvCfg(UrbanNavEnvCfg):
    def __post_init__(self):
        use_robot(self, delivery_bot_cfg(), DELIVERY_BOT)
        self.terminations.fallen = None  # a wheeled base does not fall over on flat sidewalks
        super().__post_init__()


EnvCfg_PLAY = play_variant(EnvCfg)
