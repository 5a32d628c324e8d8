"""scripts/benchmark_train.py refuses bad input in one line before any training run starts."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("args, says", [
    (["--out", "report.json"], "--out report.json: a folder"),
    (["--variants", "nope"], "--variants nope: not a variant of configs/benchmark_train.yaml"),
])
def test_bad_input_is_one_line_before_any_run(tmp_path, args, says):
    done = subprocess.run([sys.executable, str(ROOT / "scripts/benchmark_train.py"), "--quick", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.startswith("benchmark_train:")]
    assert done.returncode == 2 and len(lines) == 1 and says in lines[0], done.stderr[-2000:]
    assert not (tmp_path / "report").exists() and not (tmp_path / "logs").exists()
