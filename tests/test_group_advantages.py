"""Leave-one-out episode advantages of same-start groups (s2e.rl.group_advantages) on hand-made returns."""

import pytest
import torch

from s2e.rl.group_advantages import GroupAdvantages, leave_one_out


def test_leave_one_out_against_hand_computed_means():
    returns = torch.tensor([[1.0, 2.0, 3.0, 6.0], [5.0, 5.0, 5.0, 5.0]])
    known = torch.ones_like(returns, dtype=torch.bool)
    advantage, has_peer = leave_one_out(returns, known)
    assert torch.allclose(advantage[0], torch.tensor([1 - 11 / 3, 2 - 10 / 3, 3 - 9 / 3, 6 - 2.0]))
    assert torch.equal(advantage[1], torch.zeros(4)), "a group whose returns are all equal carries no signal"
    assert has_peer.all()


def test_leave_one_out_uses_only_known_members():
    returns = torch.tensor([[4.0, 99.0, 1.0], [7.0, 0.0, 0.0]])
    known = torch.tensor([[True, False, True], [True, False, False]])
    advantage, has_peer = leave_one_out(returns, known)
    assert torch.allclose(advantage[0], torch.tensor([3.0, 0.0, -3.0])), "the unknown 99 must not enter any mean"
    assert has_peer.tolist() == [[True, False, True], [False, False, False]], "a lone finisher has no peer"
    assert torch.equal(advantage[1], torch.zeros(3))


def rollout(groups: GroupAdvantages, rewards: list[list[float]], dones: list[list[int]]) -> torch.Tensor:
    for r, d in zip(rewards, dones):
        groups.record(torch.tensor(r), torch.tensor(d, dtype=torch.bool))
    advantages = torch.zeros(len(rewards), groups.num_envs, 1)
    groups.apply(advantages)
    return advantages[..., 0]


def test_term_goes_to_the_steps_of_each_ended_episode():
    """Two groups of two envs, four steps. Group 0: env 0 ends its episode 0 at step 1 (return 3), env 1 at step 3
    (return 1): leave-one-out +2 / -2 on the steps of each episode; env 0's next episode (steps 2-3) has not ended.
    Group 1: equal returns (2 and 2) -> 0; then env 3 ends episode 1 alone -> no peer, no term."""
    groups = GroupAdvantages(num_envs=4, group_size=2, coef=0.5, device="cpu")
    rewards = [[1, 0, 1, 2], [2, 0, 1, 0], [5, 0, 0, 4], [5, 1, 0, 0]]
    dones = [[0, 0, 0, 1], [1, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]]
    adv = rollout(groups, rewards, dones)
    expected = torch.tensor([[1.0, -1.0, 0.0, 0.0],
                             [1.0, -1.0, 0.0, 0.0],
                             [0.0, -1.0, 0.0, 0.0],
                             [0.0, -1.0, 0.0, 0.0]])
    assert torch.allclose(adv, expected)
    assert groups.logs["group_coverage"] == pytest.approx(4 / 5)


def test_later_rollout_compares_with_a_peer_that_finished_earlier():
    groups = GroupAdvantages(num_envs=2, group_size=2, coef=1.0, device="cpu")
    first = rollout(groups, [[4, 1], [0, 1]], [[1, 0], [0, 0]])
    assert torch.equal(first, torch.zeros(2, 2)), "env 0 finished alone: no peer yet"
    second = rollout(groups, [[0, 0], [0, 0]], [[0, 0], [0, 1]])
    assert torch.allclose(second[:, 1], torch.tensor([2.0 - 4.0] * 2)), "env 1's episode 0 (return 2) vs env 0's (4)"
    assert torch.equal(second[:, 0], torch.zeros(2)), "env 0's episode 1 has not ended"


def test_group_size_must_divide_the_envs():
    with pytest.raises(ValueError, match="divid"):
        GroupAdvantages(num_envs=6, group_size=4, coef=1.0, device="cpu")
