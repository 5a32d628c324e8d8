"""Navigation models: AGDM (anchor-guided Gaussian mixture), its action distribution and checkpoints."""

from s2e.models.agdm import AGDM, AGDMConfig, AGDMOutput, CrossAttentionBlock
from s2e.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from s2e.models.mixture import TrajectoryMixture, agdm_loss

__all__ = ["AGDM", "AGDMConfig", "AGDMOutput", "CrossAttentionBlock", "CheckpointError", "load_checkpoint",
           "save_checkpoint", "TrajectoryMixture", "agdm_loss"]
