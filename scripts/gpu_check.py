"""Run everything that needs a GPU, in one command, and write one markdown report.

    ./isaaclab.sh -p scripts/gpu_check.py                 # on a CUDA machine: <= 8 minutes
    ./isaaclab.sh -p scripts/gpu_check.py --tiny          # a seconds-sized version (what CI runs on the CPU)

Steps, each in its own process with its own time limit (a failing or slow step is reported and the
next one runs):

    parity    the gsplat-vs-CPU parity tests (tests marked `gpu`; skipped without CUDA)
    render    benchmark_render.py: gsplat at 64^2 / 128^2, 50k / 200k Gaussians, 1 / 16 / 256 cameras,
              and gsplat against the CPU rasterizer at 16 cameras
    env       benchmark_env.py with the camera: base mode at 256 / 1,024 / 4,096 envs, joint mode at 256
    train     train_ram.py, 3 iterations at 1,024 envs
    torchrun  train_ram.py --distributed under a 1-process torchrun (NCCL on CUDA, gloo on CPU)

The report (default logs/gpu_check/report.md) names the machine and package versions and holds each
step's status, wall time and result table; docs/performance.md keeps the reports of the GPUs we ran.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from s2e.utils.errors import exit_bad_input

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TRAIN_LINES = ("[train_ram", "Learning iteration", "Steps per second", "Collection time", "Learning time")
"""What a training step's report keeps of its output (rsl-rl's per-iteration timing and train_ram's own lines)."""


@dataclass
class Step:
    name: str
    what: str
    cmd: list[str]
    timeout_s: float
    table_from: tuple[str, ...] = ("|",)
    """Lines of the step's output starting with one of these (stripped) are its result table."""
    status: str = "not run"
    wall_s: float = 0.0
    table: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)


def plan(tiny: bool, out: Path) -> list[Step]:
    """The steps: the full check on a GPU, or the same commands at toy sizes (`tiny`)."""
    script = lambda name: str(ROOT / "scripts" / name)  # noqa: E731
    common_train = ["--headless", "agent.held_out.enabled=false", "agent.experiment_name=gpu_check",
                    "agent.save_interval=1000"]
    if tiny:
        render = [[PY, script("benchmark_render.py"), "--resolutions", "32", "--num_gaussians", "5000", "--num_cameras",
                   "1", "2", "--repeats", "1", "--min_seconds", "0", "--rounds", "1", "--backends", "cpu", "cpu+cull",
                   "--real_capture", "none", "--out", str(out / "render.json")]]
        env = [[PY, script("benchmark_env.py"), "--camera", "--robots", "wheeled", "--modes", "base", "--num_envs", "2",
                "--steps", "2", "--warmup", "1", "--out", str(out / "env.json")]]
        train = None  # the torchrun step runs train_ram.py too
        torchrun_args = ["--task", "S2E-Urban-Wheeled", "--num_envs", "2", "--max_iterations", "1"]
        common_train = common_train + ["agent.num_steps_per_env=4"]
        limits = {"parity": 300, "render": 300, "env": 300, "torchrun": 400}
    else:
        once = ["--rounds", "1", "--min_seconds", "0"]  # one timing of 5 calls a backend: the step's time limit
        render = [[PY, script("benchmark_render.py"), "--resolutions", "64", "128", "--num_gaussians", "50000",
                   "200000", "--num_cameras", "1", "16", "256", "--backends", "gsplat", "--real_capture", "none", *once,
                   "--out", str(out / "render_gsplat.json")],
                  [PY, script("benchmark_render.py"), "--resolutions", "64", "--num_gaussians", "50000", "200000",
                   "--num_cameras", "16", "--backends", "cpu", "cpu+cull", "gsplat", "--real_capture", "none", *once,
                   "--out", str(out / "render_vs_cpu.json")]]
        env = [[PY, script("benchmark_env.py"), "--camera", "--robots", "quadruped", "--modes", "base", "--num_envs",
                "256", "1024", "4096", "--out", str(out / "env_base.json")],
               [PY, script("benchmark_env.py"), "--camera", "--robots", "quadruped", "--modes", "joint", "--num_envs",
                "256", "--out", str(out / "env_joint.json")]]
        train = [PY, script("train_ram.py"), "--task", "S2E-Urban-Quadruped", "--num_envs", "1024", "--max_iterations",
                 "3", "--run_name", "gpu_check_1024", *common_train]
        torchrun_args = ["--task", "S2E-Urban-Quadruped", "--num_envs", "256", "--max_iterations", "1"]
        limits = {"parity": 60, "render": 90, "env": 180, "train": 90, "torchrun": 60}  # 8 minutes at most
    steps = [Step("parity", "gsplat vs CPU rasterizer (tests marked gpu)",
                  [PY, "-m", "pytest", "-q", "-m", "gpu", str(ROOT / "tests/test_rasterizer.py"),
                   str(ROOT / "tests/test_culling.py")],
                  limits["parity"])]
    steps.append(Step("render", "benchmark_render.py", _chain(render), limits["render"]))
    steps.append(Step("env", "benchmark_env.py with the camera", _chain(env), limits["env"],
                      table_from=("|", "[bench]")))  # the per-configuration lines carry start-up, reset time and memory
    if train:
        steps.append(Step("train", "train_ram.py, 3 iterations", train, limits["train"], table_from=TRAIN_LINES))
    torchrun = [PY, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "1", script("train_ram.py"),
                "--distributed", *torchrun_args, "--run_name", "gpu_check_torchrun", *common_train]
    steps.append(Step("torchrun", "train_ram.py --distributed, 1-process torchrun", torchrun, limits["torchrun"],
                      table_from=TRAIN_LINES))
    return steps


def _chain(commands: list[list[str]]) -> list[str]:
    """Several commands as one shell step (their outputs concatenated; the first failure stops it)."""
    import shlex

    return ["bash", "-c", " && ".join(" ".join(shlex.quote(c) for c in cmd) for cmd in commands)]


def run_step(step: Step) -> None:
    print(f"[gpu_check] {step.name}: {step.what} (limit {step.timeout_s:.0f} s)", flush=True)
    t0 = time.time()
    try:
        proc = subprocess.run(step.cmd, capture_output=True, text=True, timeout=step.timeout_s)  # logs/ under the cwd
        output, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout or ""
        output, rc = output.decode(errors="replace") if isinstance(output, bytes) else output, None
    step.wall_s = time.time() - t0
    lines = output.splitlines()
    step.tail = lines[-15:]
    if rc is None:
        step.status = f"timed out after {step.timeout_s:.0f} s"
    elif step.name == "parity" and rc == 0 and " passed" not in output and "skipped" in output:
        step.status = "skipped (no CUDA)"
    else:
        step.status = "ok" if rc == 0 else f"failed (exit {rc})"
    if step.name == "parity":
        step.table = [line for line in lines if " passed" in line or " skipped" in line or " failed" in line][-1:]
    else:
        step.table = [line.strip() for line in lines if line.strip().startswith(step.table_from)]
    print(f"[gpu_check] {step.name}: {step.status} in {step.wall_s:.0f} s", flush=True)


def report(steps: list[Step], tiny: bool) -> str:
    import torch

    from s2e.utils.machine import describe_machine

    versions = {"torch": torch.__version__, "cuda": torch.version.cuda or "none"}
    for name in ("gsplat", "warp", "isaaclab", "rsl_rl"):
        try:
            versions[name] = getattr(__import__(name), "__version__", "?")
        except ImportError:
            versions[name] = "not installed"
    lines = [f"# GPU check{' (tiny)' if tiny else ''}: {time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Machine: {describe_machine()}. " + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", "",
             "| step | what | status | wall s |", "| --- | --- | --- | ---: |"]
    lines += [f"| {s.name} | {s.what} | {s.status} | {s.wall_s:.0f} |" for s in steps]
    for s in steps:
        lines += ["", f"## {s.name}", ""]
        shown = s.table if (s.status == "ok" or s.status.startswith("skipped")) and s.table else s.tail
        body = shown if shown and shown[0].startswith("|") else ["```", *shown, "```"]
        lines += body
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true",
                        help="toy sizes: checks that every step still runs (CI, on the CPU)")
    parser.add_argument("--only", nargs="+", default=None,
                        help="run these steps only (parity render env train torchrun)")
    parser.add_argument("--out", default="logs/gpu_check", help="folder of the report and the benchmarks' JSON")
    args = parser.parse_args()
    import torch

    if not args.tiny and not torch.cuda.is_available():
        exit_bad_input("no CUDA device here: run it on a GPU machine, or --tiny for the CPU smoke version",
                       prefix="gpu_check")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    steps = plan(args.tiny, out.resolve())
    if args.only:
        unknown = set(args.only) - {s.name for s in steps}
        if unknown:
            exit_bad_input(f"unknown step(s) {sorted(unknown)}: choose from {[s.name for s in steps]}",
                           prefix="gpu_check")
        steps = [s for s in steps if s.name in args.only]
    for step in steps:
        run_step(step)
    from s2e.utils.files import write_text_atomic

    path = write_text_atomic(out / "report.md", report(steps, args.tiny))
    failed = [s.name for s in steps if not (s.status == "ok" or s.status.startswith("skipped"))]
    print(f"[gpu_check] report: {path}" + (f"; failed: {', '.join(failed)}" if failed else "; every step ran"),
          flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
