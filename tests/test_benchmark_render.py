"""scripts/benchmark_render.py: today's rasterizer against another revision's in one run, and stage times."""

import json
import subprocess
import sys
from pathlib import Path

from s2e.rendering.backends import CPU_STAGES

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args):
    return subprocess.run([sys.executable, str(ROOT / "scripts/benchmark_render.py"), "--resolutions", "16",
                           "--num_gaussians", "3000", "--num_cameras", "2", "--repeats", "1", "--warmup", "1",
                           "--min_seconds", "0", "--rounds", "1", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_a_baseline_revision_and_the_stages_in_one_run(tmp_path, git_checkout):
    proc = _bench("--real_capture", "none", "--baseline", "HEAD", "--stages", "--out", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads((tmp_path / "r.json").read_text())["results"][0]
    assert all(row[b] > 0 for b in ("cpu", "cpu+cull", "cpu@HEAD", "cpu+cull@HEAD"))
    assert "cpu / cpu@HEAD" in proc.stdout and "cpu+cull / cpu+cull@HEAD" in proc.stdout
    for backend in ("cpu", "cpu+cull"):
        stages = row["stages_ms"][backend]
        assert set(stages) == set(CPU_STAGES) and all(v >= 0 for v in stages.values())
        assert sum(stages.values()) > 0
    assert row["stages_ms"]["cpu+cull"]["cull"] > 0  # the culler's stage is its own


def test_bad_baseline_and_real_capture_get_one_line(git_checkout):
    for args, words in ((("--baseline", "no-such-rev"), "no-such-rev"), (("--real_capture", "atlantis"), "atlantis")):
        proc = _bench(*args)
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert proc.returncode == 2 and len(lines) == 1 and words in lines[0], proc.stderr[-2000:]
