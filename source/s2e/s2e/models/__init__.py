"""Navigation models: AGDM (anchor-guided Gaussian mixture), its action distribution and checkpoints."""

from .agdm import AGDM, AGDMConfig, AGDMOutput, CrossAttentionBlock
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .mixture import TrajectoryMixture, agdm_loss

__all__ = ["AGDM", "AGDMConfig", "AGDMOutput", "CrossAttentionBlock", "CheckpointError", "load_checkpoint",
           "save_checkpoint", "TrajectoryMixture", "agdm_loss"]
