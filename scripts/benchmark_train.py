"""Samples per second of RAM training iterations (the main job's config), collection and learning apart.

    ./isaaclab.sh -p scripts/benchmark_train.py              # suite in configs/benchmark_train.yaml
    ./isaaclab.sh -p scripts/benchmark_train.py --quick      # <= 10 minutes on 2 cores; ratio as the last line
    ./isaaclab.sh -p scripts/benchmark_train.py --profile    # also a cProfile of each variant's iterations
    ./isaaclab.sh -p scripts/benchmark_train.py --quick --baseline HEAD~1   # also the code of a git revision

Each variant of the suite runs train_ram.py in its own process (held-out check off, runs under
logs/rsl_rl/benchmark_train/), the variants interleaved so that both see the same machine; the
per-iteration collection and learning times are read back from the runs' TensorBoard scalars
(rsl-rl's Perf/*), the first iteration of every process dropped (kernel compilation). Prints a
table and the default/today ratio, and writes logs/benchmark/benchmark_train.{json,md}. `--baseline REV` adds the
variant `default@REV`: train_ram.py of that git revision (its files extracted beside, its packages first on the
path), interleaved with the others, and the ratio of today's default to it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from s2e.rl.curves import read_scalars
from s2e.utils.errors import exit_bad_input
from s2e.utils.files import write_json_atomic, write_text_atomic
from s2e.utils.machine import describe_machine
from s2e.utils.revision_import import RevisionImportError, checkout_at

ROOT = Path(__file__).resolve().parents[1]
SUITE = yaml.safe_load((ROOT / "configs/benchmark_train.yaml").read_text())
EXPERIMENT = "benchmark_train"


def run_variant(args, name: str, variant, repeat: int, out_dir: Path) -> dict:
    """One train_ram.py process; returns its per-iteration times (warm-up dropped). A variant is a list of overrides,
    or {overrides: [...], env: {NAME: value}, tree: <folder>} for settings that are environment variables and for
    another revision's files (its train_ram.py runs there, its packages first on the path)."""
    overrides = list(variant.get("overrides", [])) if isinstance(variant, dict) else list(variant)
    env = {**os.environ, **{k: str(v) for k, v in (variant.get("env", {}) if isinstance(variant, dict)
                                                   else {}).items()}}
    tree = Path(variant["tree"]) if isinstance(variant, dict) and "tree" in variant else ROOT
    if tree != ROOT:
        env["PYTHONPATH"] = os.pathsep.join([str(tree / "source/s2e"), str(tree / "exts/s2e_isaaclab"),
                                             env.get("PYTHONPATH", "")])
    run_name = f"{name}_{repeat}_{time.strftime('%H%M%S')}"
    cmd = [sys.executable]
    if args.profile:
        cmd += ["-m", "cProfile", "-o", str(out_dir / f"{name}_{repeat}.prof")]
    cmd += [str(tree / "scripts/train_ram.py"), "--task", args.task, "--num_envs", str(args.num_envs), "--headless",
            "--max_iterations", str(args.iterations), "--run_name", run_name, "--seed", str(repeat),
            f"agent.experiment_name={EXPERIMENT}", "agent.held_out.enabled=false", "agent.save_interval=1000",
            *overrides]
    print(f"[benchmark_train] {name} ({repeat + 1}/{args.repeats}): {' '.join(cmd[1:])}", flush=True)
    log = out_dir / f"{name}_{repeat}.log"
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=tree, env=env).returncode
    if rc != 0:
        sys.exit(f"[benchmark_train] variant {name} failed (exit {rc}); see {log}")
    run_dir = max((tree / "logs/rsl_rl" / EXPERIMENT).glob(f"*_{run_name}"))
    scalars = read_scalars(run_dir)
    collect = scalars["Perf/collection_time"][1][1:]
    learn = scalars["Perf/learning_time"][1][1:]
    steps = yaml.safe_load((run_dir / "params/agent.yaml").read_text())["num_steps_per_env"]
    return {"collection_s": collect, "learning_s": learn, "samples": steps * args.num_envs, "run": str(run_dir)}


def summarize(name: str, runs: list[dict], samples: int) -> dict:
    collect = [t for r in runs for t in r["collection_s"]]
    learn = [t for r in runs for t in r["learning_s"]]
    c, l = statistics.median(collect), statistics.median(learn)
    return {"variant": name, "iterations": len(collect), "collection_s": c, "learning_s": l,
            "collection_samples_per_s": samples / c, "learning_samples_per_s": samples / l,
            "samples_per_s": samples / (c + l)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default=SUITE["task"])
    parser.add_argument("--num_envs", type=int, default=SUITE["num_envs"])
    parser.add_argument("--iterations", type=int, default=None, help="per process, the first one not counted")
    parser.add_argument("--repeats", type=int, default=None, help="processes per variant")
    parser.add_argument("--quick", action="store_true", help="the suite's quick settings (<= 10 min on 2 cores)")
    parser.add_argument("--profile", action="store_true", help="write a cProfile of each process and its top functions")
    parser.add_argument("--variants", nargs="+", default=None,
                        help="run only these of the suite's variants (default: all; 'today' and 'default' always run)")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also run train_ram.py of this git revision (e.g. HEAD~1) as variant default@REV")
    parser.add_argument("--out", default="logs/benchmark/benchmark_train",
                        help="folder of the runs' logs; the report goes beside it as <folder>.md and <folder>.json")
    args = parser.parse_args()
    settings = SUITE["quick"] if args.quick else SUITE
    args.iterations = args.iterations or settings["iterations"]
    args.repeats = args.repeats or settings["repeats"]
    if args.iterations < 2 or args.repeats < 1 or args.num_envs < 1:
        exit_bad_input("--iterations must be >= 2 (the first is a warm-up), --repeats and --num_envs >= 1",
                       prefix="benchmark_train")
    out_dir = Path(args.out).resolve()  # variants of another revision run in its folder
    if out_dir.suffix in (".md", ".json"):
        exit_bad_input(f"--out {args.out}: a folder (the report is written beside it as <folder>.md and .json); give "
                       f"it without the {out_dir.suffix} suffix", prefix="benchmark_train")
    unknown = sorted(set(args.variants or ()) - set(SUITE["variants"]))
    if unknown:
        exit_bad_input(f"--variants {unknown[0]}: not a variant of configs/benchmark_train.yaml; it has "
                       f"{', '.join(SUITE['variants'])}", prefix="benchmark_train")
    out_dir.mkdir(parents=True, exist_ok=True)
    keep = set(args.variants or SUITE["variants"]) | {"today", "default"}
    variants = {name: v for name, v in SUITE["variants"].items() if name in keep}
    if args.baseline:
        try:
            variants[f"default@{args.baseline}"] = {"tree": str(checkout_at(ROOT, args.baseline))}
        except RevisionImportError as err:
            exit_bad_input(str(err), prefix="benchmark_train")
    runs = {name: [] for name in variants}
    t0 = time.time()
    for repeat in range(args.repeats):
        for name, overrides in variants.items():
            runs[name].append(run_variant(args, name, overrides, repeat, out_dir))
    samples = runs["default"][0]["samples"]
    rows = [summarize(name, r, samples) for name, r in runs.items()]
    by_name = {row["variant"]: row for row in rows}
    ratio = by_name["default"]["samples_per_s"] / by_name["today"]["samples_per_s"]
    lines = [f"RAM training throughput, {args.task}, {args.num_envs} envs x {samples // args.num_envs} steps per "
             f"iteration ({describe_machine()}; medians over iterations)", "",
             "| variant | iterations | collection s | learning s | collection samples/s | learning samples/s | "
             "samples/s |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {r['variant']} | {r['iterations']} | {r['collection_s']:.2f} | {r['learning_s']:.2f} | "
              f"{r['collection_samples_per_s']:.0f} | {r['learning_samples_per_s']:.0f} | {r['samples_per_s']:.1f} |"
              for r in rows]
    lines += ["", f"variants: {variants}"]
    if args.profile:
        lines += ["", "Top functions by own time (cProfile of the whole process):", ""] + \
            [line for name in variants for line in _profile_lines(name, out_dir)]
    lines += ["", f"default / today: {ratio:.2f}x samples/s per iteration"]
    if args.baseline:
        lines += [f"default / default@{args.baseline}: "
                  f"{by_name['default']['samples_per_s'] / by_name[f'default@{args.baseline}']['samples_per_s']:.2f}x "
                  f"samples/s per iteration (collection "
                  f"{by_name[f'default@{args.baseline}']['collection_s'] / by_name['default']['collection_s']:.2f}x)"]
    report = "\n".join(lines) + "\n"
    write_text_atomic(out_dir.with_suffix(".md"), report)
    write_json_atomic(out_dir.with_suffix(".json"),
                      {"machine": describe_machine(), "task": args.task, "num_envs": args.num_envs,
                                                     "rows": rows, "runs": runs, "ratio": ratio,
                       "wall_s": time.time() - t0})
    print(report, end="", flush=True)


def _profile_lines(name: str, out_dir: Path, top: int = 15) -> list[str]:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(out_dir / f"{name}_0.prof"), stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return [f"{name}:", "```", *[l for l in out.getvalue().splitlines() if l.strip()][-top - 1:], "```"]


if __name__ == "__main__":
    main()
