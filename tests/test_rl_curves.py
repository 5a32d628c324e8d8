"""Learning curves read back from TensorBoard event files."""

import pytest
from torch.utils.tensorboard import SummaryWriter

from s2e.rl.curves import CurvesError, read_scalars, save_run_curves


def _run(path, sr):
    with SummaryWriter(str(path)) as w:
        for it, v in enumerate(sr):
            w.add_scalar("Episode/SR_last100", v, it)
            w.add_scalar("Loss/value", 1.0 / (it + 1), it)
    return path


def test_scalars_round_trip_and_runs_overlay(tmp_path):
    a, b = _run(tmp_path / "a", [0.1, 0.2, 0.4]), _run(tmp_path / "b", [0.5, 0.5])
    steps, values = read_scalars(a)["Episode/SR_last100"]
    assert steps == [0.0, 1.0, 2.0] and values == pytest.approx([0.1, 0.2, 0.4])
    out = save_run_curves({"a": a, "b": b}, tmp_path / "out" / "curves.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [p.name for p in out.parent.iterdir()] == ["curves.png"]


def test_a_folder_without_events_is_a_clear_error(tmp_path):
    with pytest.raises(CurvesError, match="no TensorBoard event file"):
        save_run_curves({"x": tmp_path}, tmp_path / "c.png")
