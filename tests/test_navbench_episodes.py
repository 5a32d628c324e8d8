"""NavBench-GS episode files: validation with one-line errors, dealing episodes to envs, fingerprints,
and the shipped splits (held-out blocks of their family, routes from start to goal, still matching the generator)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from s2e.navbench.episodes import EpisodeFileError, check_fingerprints, layout_fingerprint, load_suite, save_suite
from s2e.navbench.generate import make_suite
from s2e.navbench.splits import SPLITS
from s2e.urban.families import appearance_family
from s2e.urban.layout import UrbanLayoutCfg, generate_layout
from s2e.urban.routes import RouteCfg

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TASKS = [f"NavBench-GS-{t}-{r}" for r in ("Wheeled", "Quadruped") for t in ("Empty", "Obstacle", "Pedestrian", "Mixed")]


@pytest.fixture(scope="module")
def small_suite():
    return make_suite("NavBench-GS-Obstacle-Wheeled", "Wheeled", "obstacles", SPLITS["urban"], num_scenes=2,
                      episodes_per_scene=4,
                      route=RouteCfg(clearance=0.75, num_points=16), max_lin_vel=1.2, obstacle_density=1.5,
                      pedestrians=(0, 0))


def test_save_load_round_trip(small_suite, tmp_path):
    path = save_suite(tmp_path / "suite.json", small_suite)
    assert load_suite(path) == small_suite


@pytest.mark.parametrize("edit, message", [
    (lambda raw: raw.update(format_version=99), "format_version 99"),
    (lambda raw: raw.pop("scenes"), "missing 'scenes'"),
    (lambda raw: raw["episodes"][0].update(scene=5), "episode 0 names scene 5"),
    (lambda raw: raw["episodes"][1].update(goal=[100.0, 100.0]),
     "episode 1's route does not run from its start to its goal"),
    (lambda raw: raw["episodes"][2].update(time_limit_s=0),
     "episode 2 needs a route of >= 2 points and a positive time limit"),
    (lambda raw: raw["episodes"][0].pop("route"), "malformed scene or episode entry"),
])
def test_bad_episode_files_fail_with_one_line_naming_the_problem(small_suite, tmp_path, edit, message):
    raw = json.loads(save_suite(tmp_path / "suite.json", small_suite).read_text())
    edit(raw)
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(EpisodeFileError, match=message) as err:
        load_suite(tmp_path / "bad.json")
    assert "\n" not in str(err.value) and "make_navbench_episodes.py" in str(err.value)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(EpisodeFileError, match="not found"):
        load_suite(tmp_path / "nowhere.json")
    (tmp_path / "cut.json").write_text('{"format_version": 1, "task": ')
    with pytest.raises(EpisodeFileError, match="not valid JSON"):
        load_suite(tmp_path / "cut.json")


def test_episodes_are_dealt_evenly_with_each_env_on_one_scene(small_suite):
    queues = small_suite.env_queues(4)  # 2 scenes x 4 episodes: 2 envs per scene, 2 episodes each
    assert sorted(k for q in queues for k in q) == list(range(8))
    for i, q in enumerate(queues):
        assert len(q) == 2 and {small_suite.episodes[k].scene for k in q} == {i % 2}
    assert small_suite.default_num_envs(16) == 8 and small_suite.episodes_per_env(8) == 1
    with pytest.raises(EpisodeFileError, match="cannot be dealt evenly to 3 envs"):
        small_suite.env_queues(3)


def test_a_changed_block_generator_is_detected(small_suite):
    cfg = replace(UrbanLayoutCfg(), obstacles=replace(UrbanLayoutCfg().obstacles, density=1.5))
    blocks = {j: generate_layout(cfg, s.layout_seed) for j, s in enumerate(small_suite.scenes)}
    check_fingerprints(small_suite, blocks, "suite.json")
    other = replace(cfg, obstacles=replace(cfg.obstacles, density=1.0))
    blocks[1] = generate_layout(other, small_suite.scenes[1].layout_seed)
    with pytest.raises(EpisodeFileError, match=r"scene 1 .*\(the block generator changed\)"):
        check_fingerprints(small_suite, blocks, "suite.json")


def test_the_family_is_saved_and_read_and_v1_files_do_not_name_it(small_suite, tmp_path):
    raw = json.loads(save_suite(tmp_path / "urban.json", small_suite).read_text())
    assert "family" not in raw and load_suite(tmp_path / "urban.json").family == "urban"
    shifted = replace(small_suite, family="shift")
    assert load_suite(save_suite(tmp_path / "shift.json", shifted)).family == "shift"
    raw["family"] = "cartoon"
    (tmp_path / "bad.json").write_text(json.dumps(raw))
    with pytest.raises(EpisodeFileError, match="appearance family 'cartoon' is not one of urban, shift"):
        load_suite(tmp_path / "bad.json")


@pytest.mark.parametrize("split", list(SPLITS))
@pytest.mark.parametrize("task", TASKS)
def test_shipped_episode_files_are_valid_and_match_the_generator(split, task):
    suite = load_suite(ASSETS / SPLITS[split].folder / f"{task}.json")
    assert suite.task == task and suite.family == SPLITS[split].family
    scenes = SPLITS[split].num_scenes
    assert len(suite.scenes) == scenes and len(suite.episodes) == scenes * SPLITS[split].episodes_per_scene
    assert [s.layout_seed for s in suite.scenes] == [SPLITS[split].seed_base + j for j in range(scenes)]
    cfg = replace(appearance_family(suite.family).layout)
    cfg.obstacles = replace(cfg.obstacles, density=suite.scenes[0].obstacle_density)
    assert (cfg.obstacles.density > 0) == (("Obstacle" in task) or ("Mixed" in task))
    assert (suite.pedestrians[1] > 0) == (("Pedestrian" in task) or ("Mixed" in task))
    for j in (0, len(suite.scenes) - 1):  # two blocks per file keep this fast; all are checked when a task starts
        assert layout_fingerprint(generate_layout(cfg, suite.scenes[j].layout_seed)) == suite.scenes[j].fingerprint
    lengths = np.array([np.linalg.norm(np.diff(np.asarray(e.route), axis=0), axis=1).sum() for e in suite.episodes])
    assert lengths.min() >= 10.0 - 1e-3


def test_split_seeds_are_apart_from_each_other_and_from_training():
    bases = sorted(s.seed_base for s in SPLITS.values())
    assert all(b - a > 10**8 for a, b in zip(bases, bases[1:]))
    # training draws seed * 100003 + env: seeds below 10,000, up to 4,096 envs
    assert bases[0] > 100_003 * 9_999 + 4_096


@pytest.mark.parametrize("split", list(SPLITS))
def test_regenerating_the_suite_reproduces_the_shipped_files(split, tmp_path):
    import subprocess
    import sys

    script = ASSETS.parent / "scripts/make_navbench_episodes.py"
    proc = subprocess.run([sys.executable, str(script), "--split", split, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for task in TASKS:
        shipped = ASSETS / SPLITS[split].folder / f"{task}.json"
        assert (tmp_path / f"{task}.json").read_bytes() == shipped.read_bytes(), task
