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
    """s2e.rl.policy.AGDMActor: the AGDM mixture as the PPO policy. The one home of its settings' defaults
    (AGDMActor takes every one of them from here, as keywords)."""

    class_name: str = "s2e.rl.policy:AGDMActor"
    checkpoint: str = ""
    """AGDM checkpoint to import ("": the bundled assets/agdm/agdm_wheeled.pt; train_ram.py --checkpoint sets it)."""
    strategy: str = "ram"
    """ram (default) | decoder (decoder-only RL) | full (full-parameter PPO); SFT is pretrain_agdm.py
    init_checkpoint=..."""
    speed_std: float = 0.0
    """Per-mode spread of the executed speed scale (m/s) in the action density (0: the drawn mode's own
    speed, not explored or trained, so PPO changes which intent is followed rather than how fast; docs/rl.md)."""
    waypoint_std: float = 0.25
    """Fixed spread of every waypoint coordinate (normalized units) in the action density: with
    waypoint_noise=False the kernel that scores a drawn mode's mean (0: the checkpoint's predicted
    sigma and rho, sampled; see s2e.rl.policy)."""
    waypoint_noise: bool = False
    """False (default): a sample is the drawn mode's mean waypoints, so PPO explores over anchors only
    and waypoint_std (> 0) is the kernel scoring it. True: waypoints are drawn from the mode's Gaussian."""
    mode_hold_steps: int = 10
    """Each env's mode draw keeps its Gumbel noise for this many rollout steps (10: one intent for 1 s
    instead of a fresh mode every 0.1 s); each step's mode is still a draw from the scores
    (s2e.rl.held_modes). 1: independent draws, which dither between modes (docs/rl.md)."""
    rank_only: bool = False
    """strategy ram: RAM trains the anchor scores alone; the mixture's trajectories, spreads and speeds stay the
    checkpoint's (s2e.models.ram), so fine-tuning re-ranks the pretrained modes and cannot reshape them."""
    mode_temperature: float = 1.0
    """PPO's policy draws anchors from softmax(scores / T): T < 1 explores less and keeps rollouts
    near the deterministic (top-mode) policy that play.py and NavBench-GS run; the top mode is the same."""


@configclass
class LossTermsCfg:
    """s2e.rl.loss_terms.LossTerms: the experimental recipes S2EPPO can compose with PPO (each off at 0; docs/rl.md
    says what they did). The one home of their defaults."""

    ref_kl_coef: float = 0.0
    """> 0: adds ref_kl_coef * KL(policy || imported checkpoint) to the actor's loss (strategy ram;
    s2e.rl.reference_kl)."""
    mode_label_coef: float = 0.0
    """> 0: every sample carries per-mode experience labels from the simulator's privileged state
    (s2e.nav.mode_labels) and mode_label_coef * cross-entropy(anchor scores, softmax(labels / T)) joins
    the actor's loss (s2e.rl.mode_ranking). 0: the paper's objective (plain RAM + PPO)."""
    mode_label_temperature: float = 0.5
    """T of the label targets, in metres of route progress (smaller: sharper targets)."""
    mode_label_prior: bool = True
    """True: the target is softmax(log q_checkpoint + labels / T), the checkpoint's anchor distribution tilted by
    the labels (s2e.rl.mode_ranking); False: softmax(labels / T) alone."""
    mode_label_epochs: int = 0
    """> 0: after each update, that many passes of the ranking loss alone over the rollout with an Adam of its own
    (s2e.rl.mode_ranking.RankingFitPhase; the labels are stored as for mode_label_coef). 0: no such phase."""
    mode_label_learning_rate: float = 1.0e-3
    """Fixed Adam rate of the ranking phase (mode_label_epochs > 0)."""
    group_size: int = 1
    """Envs per same-start group: G consecutive envs share a block and run the same episodes (the task's finalize sets
    env.commands.nav.group_size and env.scene.terrain.envs_per_block from it). 1: every env its own block."""
    group_advantage_coef: float = 0.0
    """> 0 (with group_size >= 2): coef * (episode return - mean return of the group's other members on the same
    episode), in PPO's reward units, joins the normalized advantages (s2e.rl.group_advantages). 0: off."""


@configclass
class S2EPpoAlgorithmCfg(RslRlPpoAlgorithmCfg):
    """s2e.rl.ppo.S2EPPO: rsl-rl's PPO with a separate critic rate, reward scale and critic warm-up, and the loss
    terms of the experimental recipes. The one home of the S2E settings' defaults (S2EPPO takes them from here)."""

    class_name: str = "s2e.rl.ppo:S2EPPO"
    critic_learning_rate: float = 1.0e-3
    """Fixed Adam rate of the critic (learning_rate and the adaptive schedule set the actor's only)."""
    reward_scale: float = 0.01
    """Multiplies the rewards PPO learns from: episode returns of hundreds become O(1) value targets."""
    critic_warmup_iterations: int = 3
    """The first updates of a run (counted across resumes) step only the critic."""
    loss_terms: LossTermsCfg = LossTermsCfg()
    """The experimental recipes (agent.algorithm.loss_terms.<setting>=...)."""


def uses_mode_labels(algorithm: S2EPpoAlgorithmCfg) -> bool:
    """Whether a run's samples need the per-mode experience labels (the ranking loss in PPO's update or its own
    phase)."""
    return algorithm.loss_terms.mode_label_coef > 0 or algorithm.loss_terms.mode_label_epochs > 0


@configclass
class HeldOutCfg:
    """train_ram.py's held-out check (s2e_isaaclab.utils.held_out_check): the run's top mode against the imported
    checkpoint on fixed episodes of validation blocks, at the end and every `every` iterations."""

    enabled: bool = True
    seeds: list[int] = [4]
    """Block seeds of the validation episodes (training uses its seed and the ones after it per process; 7-9 are the
    test blocks)."""
    num_envs: int = 16
    episodes_per_env: int = 1
    every: int = 0
    """Also check every this many iterations (at checkpoints; 0: only the last checkpoint)."""


@configclass
class S2ERunnerCfg(RslRlOnPolicyRunnerCfg):
    class_name = "s2e.rl.runner:S2ERunner"
    # 1,024 samples per update at 16 envs: in much smaller batches the gradient is mostly noise, which Adam still
    # turns into full-size steps away from the pretrained policy (docs/rl.md)
    num_steps_per_env = 64
    max_iterations = 10  # a first look on a CPU in ~5 minutes; real runs pass --max_iterations
    save_interval = 2
    init_at_random_ep_len = False  # random starting clocks would cut first episodes short and fake a rising SR
    experiment_name = "s2e_ram"
    device = default_device()
    empirical_normalization = False
    obs_groups = {"actor": ["context"], "critic": ["critic"]}
    actor = AGDMActorCfg()
    held_out = HeldOutCfg()
    critic = RslRlMLPModelCfg(hidden_dims=[128, 128], activation="elu", obs_normalization=True)
    algorithm = S2EPpoAlgorithmCfg(
        value_loss_coef=1.0, use_clipped_value_loss=False, clip_param=0.2, entropy_coef=0.0,
        num_learning_epochs=2, num_mini_batches=4, learning_rate=1.0e-4, schedule="adaptive",
        gamma=0.99, lam=0.95, desired_kl=0.01, max_grad_norm=1.0,
    )

    def set_strategy(self, strategy: str) -> None:
        """Select the fine-tuning strategy and the observations its actor reads (full: frames + goal)."""
        self.actor.strategy = strategy
        self.obs_groups = {"actor": ["frames", "goal"] if strategy == "full" else ["context"], "critic": ["critic"]}

    def __post_init__(self):
        # rsl-rl 5 models take no legacy stochastic fields; Isaac Lab's handle_deprecated_rsl_rl_cfg
        # removes them but only knows MLP actors, so train_ram.py does not call it. The critic is deterministic.
        for name in ("stochastic", "init_noise_std", "noise_std_type", "state_dependent_std"):
            if hasattr(self.critic, name):
                delattr(self.critic, name)
