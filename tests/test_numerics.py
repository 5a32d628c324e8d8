"""The numerics fingerprint: the same in every process of one machine and code, different when a kernel rounds
differently (here the rasterizer swapped for the pure-torch reference, which differs in the last bits)."""

import subprocess
import sys

import s2e.rendering
from s2e.utils.numerics import numerics_fingerprint


def test_the_fingerprint_repeats_in_another_process():
    here = numerics_fingerprint()
    other = subprocess.run([sys.executable, "-c", "from s2e.utils.numerics import numerics_fingerprint as f; "
                            "print(f())"], capture_output=True, text=True, timeout=300)
    assert other.returncode == 0, other.stderr[-2000:]
    assert len(here) == 12 and other.stdout.split()[-1] == here == numerics_fingerprint()


def test_a_kernel_that_rounds_differently_changes_it(monkeypatch):
    here = numerics_fingerprint()
    render = s2e.rendering.render
    monkeypatch.setattr(s2e.rendering, "render", lambda *a, **k: render(*a, **{**k, "backend": "reference"}))
    assert numerics_fingerprint() != here


def test_it_leaves_the_callers_random_stream_where_it_was():
    import torch

    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    numerics_fingerprint()
    assert torch.equal(torch.rand(3), expected)
