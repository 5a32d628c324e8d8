"""Robot articulations used by the S2E tasks, all from local assets."""

from .delivery_bot import DELIVERY_BOT, delivery_bot_cfg
from .go2 import GO2, go2_cfg
from .spec import RobotSpec
