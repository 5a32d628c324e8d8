"""S2E-Urban-Quadruped: the Unitree Go2 driven by its ONNX walking policy."""

from isaaclab.utils import configclass

from .....robots import GO2, go2_cfg
from ...urban_env_cfg import UrbanNavEnvCfg, play_variant, use_robot


@configclass
class EnvCfg(UrbanNavEnvCfg):
    def __post_init__(self):
        use_robot(self, go2_cfg(), GO2)
        super().__post_init__()


EnvCfg_PLAY = play_variant(EnvCfg)
