"""RL fine-tuning of AGDM with rsl-rl: the mixture action distribution, the policy, the runner."""
