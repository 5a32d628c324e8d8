"""S2E-Urban-Quadruped: the Unitree Go2 driven by its ONNX walking policy."""

from isaaclab.utils import configclass

from .....robots import GO2, go2_cfg
from ...urban_env_cfg import UrbanNavEnvCfg


@configclass
class EnvCfg(UrbanNavEnvCfg):
    def __post_init__(self):
        self.scene.robot = go2_cfg()
        self.actions.nav.robot = GO2
        self.commands.nav.robot = GO2
        self.commands.nav.route.clearance = GO2.radius + 0.3
        super().__post_init__()


@configclass
class EnvCfg_PLAY(EnvCfg):
    def __post_init__(self):
        super().__post_init__()
        self.scene.num_envs = 4
