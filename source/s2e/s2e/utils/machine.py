"""One line naming the machine a benchmark ran on (CPU model, cores and vector unit, GPU if any), and its kind: what
decides float rounding, so that closed-loop outcomes of two runs pair only when their kinds match."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

import torch


def describe_machine() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.is_file() else []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else (platform.processor() or "cpu")
    flags = next((set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set())
    # the widest vector unit: float rounding in MKL and the compiled kernels differs between these
    isa = next((name for flag, name in (("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), None)
    text = f"{cpu}, {os.cpu_count()} cores" + (f", {isa}" if isa else "")
    if torch.cuda.is_available():
        text += f", {torch.cuda.get_device_name(0)}"
    return text


def machine_kind(description: str) -> str:
    """The kind of a machine described by describe_machine: its line without the core count (a run's thread count is
    recorded on its own). Two runs of a closed loop repeat each other's outcomes only on machines of one kind: the
    CPU model and vector unit choose the kernels, and with them the float rounding."""
    return re.sub(r", \d+ cores", "", description)
