from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx.reference import ReferenceEvaluator

from s2e.control.go2_locomotion import DEFAULT_POSE, POLICY_JOINTS, Go2Locomotion, Go2LocomotionCfg, load_onnx_mlp

POLICY = Path(__file__).resolve().parents[1] / "assets/robots/go2/policy/policy.onnx"


def test_torch_port_matches_the_onnx_reference_evaluator():
    net = load_onnx_mlp(POLICY)
    ref = ReferenceEvaluator(onnx.load(str(POLICY)))
    obs = np.random.default_rng(0).normal(size=(5, 45)).astype(np.float32)
    expected = np.concatenate([ref.run(None, {"obs": o[None]})[0] for o in obs])
    np.testing.assert_allclose(net(torch.from_numpy(obs)).detach().numpy(), expected, rtol=1e-5, atol=1e-4)


def test_joint_order_mapping_and_standing_output():
    sim_order = [f"{leg}_{part}_joint" for leg in ("FL", "FR", "RL", "RR") for part in ("hip", "thigh", "calf")]
    loco = Go2Locomotion(Go2LocomotionCfg(policy_path=str(POLICY)), sim_order, 3, "cpu")
    default_sim = loco.default_joint_pos_sim
    for i, name in enumerate(sim_order):
        assert default_sim[i] == DEFAULT_POSE[POLICY_JOINTS.index(name)]
    gravity = torch.tensor([[0.0, 0.0, -1.0]]).expand(3, -1)
    targets = loco.compute(torch.zeros(3, 3), torch.zeros(3, 3), gravity, default_sim.expand(3, -1), torch.zeros(3, 12),
                           torch.zeros(3, 3))
    # Standing still at the default pose, the policy asks for small corrections only.
    assert (targets - default_sim).abs().max() < 0.5
    # The command is slew-limited: one tick moves it by at most 0.05 m/s.
    loco.compute(torch.tensor([[1.0, 0.0, 0.0]] * 3), torch.zeros(3, 3), gravity, default_sim.expand(3, -1),
                 torch.zeros(3, 12), torch.zeros(3, 3))
    assert loco.command[0, 0].item() == pytest.approx(0.05)


def test_missing_or_corrupt_policy_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.onnx"):
        load_onnx_mlp(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00not an onnx file" * 10)
    with pytest.raises(ValueError, match="bad.onnx"):
        load_onnx_mlp(bad)
    with pytest.raises(ValueError, match="lacks joints"):
        Go2Locomotion(Go2LocomotionCfg(policy_path=str(POLICY)), ["a", "b"], 1, "cpu")
