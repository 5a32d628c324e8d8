"""rsl-rl settings of the S2E-Urban tasks.

`S2ERunnerCfg` (train_ram.py): PPO fine-tuning of an imported AGDM checkpoint through the S2E runner
(s2e.rl): the actor is the AGDM mixture (only the strategy's parameters train, RAM by default) over
cached context tokens; the critic reads the policy group plus privileged geometry.
`UrbanPPORunnerCfg`: a plain MLP baseline on the goal and motion observations (Isaac Lab's train.py).
"""

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg, RslRlPpoAlgorithmCfg

from ...paths import default_device


@configclass
class UrbanPPORunnerCfg(RslRlOnPolicyRunnerCfg):
    num_steps_per_env = 32
    max_iterations = 300
    save_interval = 50
    experiment_name = "s2e_urban"
    device = default_device()
    empirical_normalization = False
    obs_groups = {"actor": ["policy"], "critic": ["critic"]}
    actor = RslRlMLPModelCfg(
        hidden_dims=[128, 128], activation="elu",
        distribution_cfg=RslRlMLPModelCfg.GaussianDistributionCfg(init_std=0.5),
    )
    critic = RslRlMLPModelCfg(hidden_dims=[128, 128], activation="elu")
    algorithm = RslRlPpoAlgorithmCfg(
        value_loss_coef=1.0, use_clipped_value_loss=True, clip_param=0.2, entropy_coef=0.005,
        num_learning_epochs=5, num_mini_batches=4, learning_rate=3.0e-4, schedule="adaptive",
        gamma=0.99, lam=0.95, desired_kl=0.01, max_grad_norm=1.0,
    )


@configclass
class AGDMActorCfg:
    """s2e.rl.policy.AGDMActor: the AGDM mixture as the PPO policy."""

    class_name: str = "s2e.rl.policy:AGDMActor"
    checkpoint: str = ""
    """AGDM checkpoint to import ("": the bundled assets/agdm/agdm_wheeled.pt; train_ram.py --checkpoint sets it)."""
    strategy: str = "ram"
    """ram (default) | decoder (decoder-only RL) | full (full-parameter PPO); SFT is pretrain_agdm.py init_checkpoint=..."""
    speed_std: float = 0.1
    """Per-mode spread of the executed speed scale (m/s) in the action density."""
    sigma_scale: float = 1.0
    """Multiplies every waypoint sigma when sampling and scoring (< 1: calmer exploration)."""


@configclass
class S2ERunnerCfg(RslRlOnPolicyRunnerCfg):
    class_name = "s2e.rl.runner:S2ERunner"
    num_steps_per_env = 16
    max_iterations = 30
    save_interval = 5
    init_at_random_ep_len = False  # random starting clocks would cut first episodes short and fake a rising SR
    experiment_name = "s2e_ram"
    device = default_device()
    empirical_normalization = False
    obs_groups = {"actor": ["context"], "critic": ["critic"]}
    actor = AGDMActorCfg()
    critic = RslRlMLPModelCfg(hidden_dims=[128, 128], activation="elu", obs_normalization=True)
    algorithm = RslRlPpoAlgorithmCfg(
        value_loss_coef=1.0, use_clipped_value_loss=True, clip_param=0.2, entropy_coef=0.0,
        num_learning_epochs=4, num_mini_batches=4, learning_rate=1.0e-4, schedule="adaptive",
        gamma=0.99, lam=0.95, desired_kl=0.01, max_grad_norm=1.0,
    )

    def __post_init__(self):
        # rsl-rl 5 models take no legacy stochastic fields; Isaac Lab's handle_deprecated_rsl_rl_cfg
        # removes them but only knows MLP actors, so train_ram.py does not call it. The critic is deterministic.
        for name in ("stochastic", "init_noise_std", "noise_std_type", "state_dependent_std"):
            if hasattr(self.critic, name):
                delattr(self.critic, name)
