"""MDP terms of the S2E-Urban tasks (Isaac Lab's generic terms plus ours)."""

from isaaclab.envs.mdp import *  # noqa: F401, F403

from .actions import WaypointNavAction, WaypointNavActionCfg  # noqa: F401
from .navigation_command import NavigationCommand, NavigationCommandCfg  # noqa: F401
from .observations import *  # noqa: F401, F403
from .rewards import *  # noqa: F401, F403
from .terminations import *  # noqa: F401, F403
