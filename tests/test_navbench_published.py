"""Published NavBench-GS records: rows pair only within one machine kind, and the docs' generated sections are what the
published records give."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from s2e.utils.machine import machine_kind
from s2e_isaaclab.evaluation.published import (
    PUBLISHED_KEYS,
    SECTION_END,
    SECTION_START,
    find_sections,
    generate_section,
    publish,
    publish_drift,
    update_sections,
)
from s2e_isaaclab.evaluation.report import pair_by_machine, report_markdown, split_drop_markdown
from s2e_isaaclab.utils.cli import UserError

ROOT = Path(__file__).resolve().parents[1]
XEON = "Intel(R) Xeon(R) Processor, 2 cores, AVX-512"
EPYC = "AMD EPYC, 2 cores, AVX2"


def _result(name: str, success: list[int], machine: str = XEON, collisions: list[int] | None = None,
            numerics: str = "0123456789ab") -> dict:
    n = len(success)
    return {"spec": {"model": str(ROOT / "assets/agdm/agdm_wheeled.pt")}, "name": name, "robot": "wheeled",
            "step_dt": 0.1, "machine": machine, "torch_threads": 1, "numerics": numerics, "episodes": n,
            "env_steps": 10 * n, "wall_time_s": 1.0, "summary": {}, "per_scene": {"0": {}},
            "per_episode": {"episode": list(range(n)), "success": success, "route_completion": [1.0] * n,
                            "collisions": collisions or [0] * n, "route_length": [20.0] * n,
                            "path_length": [21.0] * n, "arrival_step": [100] * n}}


def _write(root: Path, split: str, name: str, task: str, result: dict) -> None:
    path = root / split / "wheeled" / name / f"{task}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))


def test_the_machine_kind_leaves_out_the_core_count_only():
    assert machine_kind(XEON) == "Intel(R) Xeon(R) Processor, AVX-512"
    assert machine_kind("Intel(R) Xeon(R) Processor, 16 cores, AVX-512") == machine_kind(XEON)
    assert machine_kind(EPYC) != machine_kind(XEON)


def test_rows_of_another_machine_kind_get_no_verdict_and_are_named():
    saved = {"S2E-BC": {"Empty": _result("S2E-BC", [1] * 8)},
             "RL-Full": {"Empty": _result("RL-Full", [0] * 8)},
             "SFT": {"Empty": _result("SFT", [0] * 8, machine=EPYC)}}
    paired, note = pair_by_machine(saved, "S2E-BC")
    assert set(paired) == {"S2E-BC", "RL-Full"}
    assert note == ("Made on: Intel(R) Xeon(R) Processor, AVX-512, 1 torch thread(s), numerics 0123456789ab; rows "
                    "made on another machine kind, thread count or numerics have no verdicts: SFT (AMD EPYC, AVX2, "
                    "1 torch thread(s), numerics 0123456789ab).")
    saved["RL-Full"]["Empty"]["numerics"] = "ba9876543210"  # same machine, other kernels or libraries
    assert set(pair_by_machine(saved, "S2E-BC")[0]) == {"S2E-BC"}
    saved["RL-Full"]["Empty"]["numerics"] = "0123456789ab"
    saved["RL-Full"]["Empty"]["torch_threads"] = 2  # the thread count rounds differently too
    assert set(pair_by_machine(saved, "S2E-BC")[0]) == {"S2E-BC"}
    # a reference whose tasks come from two kinds pairs with nothing
    saved["S2E-BC"]["Obstacle"] = _result("S2E-BC", [1] * 8, machine=EPYC)
    paired, note = pair_by_machine(saved, "S2E-BC")
    assert paired == {} and "different machine kinds" in note


def test_the_report_gives_verdicts_only_within_the_reference_kind(tmp_path):
    _write(tmp_path, "urban", "S2E-BC", "Empty", _result("S2E-BC", [1] * 8))
    _write(tmp_path, "urban", "RL-Full", "Empty", _result("RL-Full", [0] * 8))
    _write(tmp_path, "urban", "SFT", "Empty", _result("SFT", [0] * 8, machine=EPYC))
    md = report_markdown(tmp_path / "urban" / "wheeled")
    table, verdicts = md.split("**Verdicts against S2E-BC**")
    assert all(f"| {m} |" in table for m in ("S2E-BC", "RL-Full", "SFT"))  # every row in the table
    assert "| RL-Full | Empty | -100 (0/8, p=0.0078) worse |" in verdicts
    assert "| SFT |" not in verdicts and "SFT (AMD EPYC, AVX2, 1 torch thread(s), numerics" in table
    # the split drop pairs each split with its own reference row: only when both were made on one kind
    _write(tmp_path, "shift", "RL-Full", "Empty", _result("RL-Full", [0] * 8))
    _write(tmp_path, "shift", "S2E-BC", "Empty", _result("S2E-BC", [1] * 8, machine=EPYC))
    assert split_drop_markdown(tmp_path, "shift", "wheeled") == ("", [])
    _write(tmp_path, "shift", "S2E-BC", "Empty", _result("S2E-BC", [1] * 8))
    assert "| RL-Full | SR | Empty |" in split_drop_markdown(tmp_path, "shift", "wheeled")[0]


def test_published_records_give_the_same_tables_and_split_drops_as_the_results(tmp_path):
    results, published = tmp_path / "logs", tmp_path / "published"
    for split, bc, full in (("urban", [1] * 7 + [0], [1] * 8), ("shift", [1] * 4 + [0] * 4, [1] * 2 + [0] * 6)):
        for task in ("Empty", "Obstacle"):
            _write(results, split, "S2E-BC", task, _result("S2E-BC", bc))
            _write(results, split, "RL-Full", task, _result("RL-Full", full, collisions=[1] + [0] * 7))
    for split in ("urban", "shift"):
        written = publish(results, published, split, "wheeled", repo_root=ROOT)
        assert len(written) == 4
    record = json.loads((published / "shift/wheeled/RL-Full/Obstacle.json").read_text())
    assert tuple(record) == PUBLISHED_KEYS  # the per-scene summaries stay behind
    assert record["spec"]["model"] == "assets/agdm/agdm_wheeled.pt"  # relative to the repository
    assert generate_section(published, "results", "shift", "wheeled") == report_markdown(results / "shift/wheeled")
    drop = generate_section(published, "split drop", "shift", "wheeled")
    assert "| RL-Full | SR | Empty, Obstacle | 1.00 | 0.25 | 0.88 → 0.50 |" in drop

    assert generate_section(published, "feature drift", "shift", "wheeled") == \
        "No published feature drift of shift/wheeled yet.\n"
    drift = {"split": "shift", "views": 32, "reference_mean_norm": 9.0, "drift": {"RL-Full": 1.8, "S2E-RAM": 0.0}}
    (results / "feature_drift_shift.json").write_text(json.dumps(drift))
    publish_drift(results, published, "shift")
    assert generate_section(published, "feature drift", "shift", "wheeled") == (
        "| policy | Δ_feat on shift (32 views) | relative to ‖mean F_pre‖ = 9.000 |\n| --- | ---: | ---: |\n"
        "| RL-Full | 1.8000 | 0.200 |\n| S2E-RAM | 0.0000 | 0.000 |\n")
    with pytest.raises(UserError, match="no feature drift of urban"):
        publish_drift(results, published, "urban")

    doc = "# Results\n\n" + "".join(
        f"{SECTION_START.format(section=s, split='shift', robot='wheeled')}\nstale\n{SECTION_END.format(section=s)}\n\n"
        for s in ("results", "split drop"))
    fresh, changed = update_sections(doc, published)
    assert changed == ["results shift/wheeled", "split drop shift/wheeled"]
    assert [body for *_, body in find_sections(fresh)] == [generate_section(published, s, "shift", "wheeled")
                                                           for s in ("results", "split drop")]
    assert update_sections(fresh, published) == (fresh, [])  # regenerating changes nothing


def test_bad_sections_and_targets_get_one_line(tmp_path):
    with pytest.raises(UserError, match="no end marker"):
        find_sections(SECTION_START.format(section="results", split="shift", robot="wheeled") + "\n| table |\n")
    no_records = generate_section(tmp_path, "results", "shift", "quadruped")
    assert no_records == "No published records of shift/quadruped yet.\n"
    with pytest.raises(UserError, match="unknown generated section"):
        generate_section(tmp_path, "results", "mars", "wheeled")
    with pytest.raises(UserError, match="no results of SFT"):
        publish(tmp_path, tmp_path / "published", "shift", "wheeled", ["SFT"])
    for argv, message in ((["--publish", "shift"], "expected SPLIT/ROBOT or SPLIT/ROBOT/METHOD"),
                          (["--doc", str(tmp_path / "none.md")], "does not exist")):
        run = subprocess.run([sys.executable, str(ROOT / "scripts/navbench_report.py"), *argv, "--results",
                              str(tmp_path), "--published", str(tmp_path / "published")],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_the_split_picture_pools_every_task_of_the_rows_that_pair(tmp_path):
    from s2e.navbench.tasks import TASKS
    from s2e_isaaclab.evaluation.published import pooled_by_split, save_split_figure

    for k, task in enumerate(TASKS):  # S2E-BC arrives in 8 of 8 on urban, in the first k of 8 on shift
        _write(tmp_path, "urban", "S2E-BC", task, _result("S2E-BC", [1] * 8))
        _write(tmp_path, "shift", "S2E-BC", task, _result("S2E-BC", [1] * k + [0] * (8 - k), collisions=[1] + [0] * 7))
        _write(tmp_path, "urban", "Expert", task, _result("Expert", [1] * 8))
        _write(tmp_path, "urban", "SFT", task, _result("SFT", [1] * 8, machine=EPYC))  # pairs with no reference
    _write(tmp_path, "shift", "Expert", TASKS[0], _result("Expert", [1] * 8))  # not every task on shift
    pooled = pooled_by_split(tmp_path, "wheeled")
    assert list(pooled) == ["Expert", "S2E-BC"] and list(pooled["Expert"]) == ["urban"]
    shift = pooled["S2E-BC"]["shift"]
    arrived = sum(range(len(TASKS)))
    assert shift["SR"]["n"] == 8 * len(TASKS) and shift["SR"]["mean"] == pytest.approx(arrived / (8 * len(TASKS)))
    assert shift["SRNC"]["mean"] == pytest.approx((arrived - (len(TASKS) - 1)) / (8 * len(TASKS)))  # first episode hit
    figure = save_split_figure(tmp_path, "wheeled", tmp_path / "images")
    assert figure.name == "navbench_splits_wheeled.png" and figure.read_bytes()[:4] == b"\x89PNG"
    assert save_split_figure(tmp_path, "quadruped", tmp_path / "images") is None
