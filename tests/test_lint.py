"""The repository passes its lint (ruff.toml at the root): CI runs it with the unit tests."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    try:
        import ruff  # noqa: F401  (the test extra installs it; its binary runs as `python -m ruff`)
    except ImportError:
        raise AssertionError("ruff is not installed: reinstall the test extra (`python -m pip install -e "
                             "'exts/s2e_isaaclab[test]'`; ./isaaclab.sh does it when a pyproject changed)") from None
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True,
                          text=True, cwd=ROOT, timeout=110)
    assert proc.returncode == 0, f"ruff check found problems (fix them; `ruff check --fix` fixes some):\n" \
                                 f"{proc.stdout}{proc.stderr}"
