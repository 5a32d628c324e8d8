"""Which checkpoint "the latest run" means, and which run names are refused."""

import pytest

from s2e.rl.run_folders import RunNotFoundError, check_run_name, find_run_checkpoint, run_checkpoints


def _run(root, name, *files):
    folder = root / name
    folder.mkdir(parents=True)
    for f in files:
        (folder / f).write_bytes(b"x")
    return folder


def test_the_newest_run_with_a_checkpoint_is_picked_over_a_newer_one_that_died_before_its_first(tmp_path):
    _run(tmp_path, "2026-12-01_10-00-00_a", "model_0.pt", "model_9.pt", "model_10.pt")
    _run(tmp_path, "2026-12-02_10-00-00_b", "model_0.pt", "model_2.pt", ".model_3.pt.tmp")
    _run(tmp_path, "2026-12-03_10-00-00_killed", "events.out.tfevents.1")  # died before its first checkpoint
    assert find_run_checkpoint(tmp_path) == tmp_path / "2026-12-02_10-00-00_b" / "model_2.pt"
    assert find_run_checkpoint(tmp_path, ".*_a$").name == "model_10.pt"  # numbers sort as numbers
    assert find_run_checkpoint(tmp_path, ".*_a$", r"model_9\.pt$").name == "model_9.pt"
    assert [p.name for p in run_checkpoints(tmp_path / "2026-12-01_10-00-00_a")] == ["model_0.pt", "model_9.pt", "model_10.pt"]


def test_no_run_or_no_checkpoint_says_which(tmp_path):
    with pytest.raises(RunNotFoundError, match="no run folder matching '.\\*' under"):
        find_run_checkpoint(tmp_path / "nowhere")
    _run(tmp_path, "2026-12-03_10-00-00_killed", "params")
    with pytest.raises(RunNotFoundError, match=r"none of the 1 run folder\(s\) matching '.\*' under .* holds a checkpoint matching"):
        find_run_checkpoint(tmp_path)


@pytest.mark.parametrize("name", ["a/b", "../up", "..", "", "a\\b"])
def test_run_names_that_would_nest_or_escape_the_log_folder_are_refused(name):
    with pytest.raises(ValueError, match="no path separator"):
        check_run_name(name)


def test_plain_run_names_pass():
    for name in (None, "labels_s0", "ram-v2.1"):
        check_run_name(name)
