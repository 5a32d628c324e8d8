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
    assert ([p.name for p in run_checkpoints(tmp_path / "2026-12-01_10-00-00_a")]
            == ["model_0.pt", "model_9.pt", "model_10.pt"])


def test_no_run_or_no_checkpoint_says_which(tmp_path):
    with pytest.raises(RunNotFoundError, match="no run folder matching '.\\*' under"):
        find_run_checkpoint(tmp_path / "nowhere")
    _run(tmp_path, "2026-12-03_10-00-00_killed", "params")
    with pytest.raises(RunNotFoundError,
                       match=r"none of the 1 run folder\(s\) matching '.\*' under .* holds a checkpoint matching"):
        find_run_checkpoint(tmp_path)


def test_load_run_is_a_run_folder_or_else_a_regex_of_run_folder_names(tmp_path, monkeypatch):
    """What --load_run means in every script: an existing folder picks that run (an absolute path, or one relative to
    the working folder); anything else is a regex of run folder names under the experiment's log folder."""
    root = tmp_path / "logs/rsl_rl/s2e_ram_wheeled"
    short = _run(root, "2026-12-01_10-00-00_short", "model_0.pt", "model_4.pt")
    _run(root, "2026-12-02_10-00-00_long", "model_9.pt")
    assert find_run_checkpoint(root, str(short)) == short / "model_4.pt"
    assert find_run_checkpoint(root, str(short), r"model_0\.pt$") == short / "model_0.pt"
    assert find_run_checkpoint(tmp_path / "elsewhere", str(short)) == short / "model_4.pt"  # the folder alone decides
    monkeypatch.chdir(tmp_path)
    relative = "logs/rsl_rl/s2e_ram_wheeled/2026-12-01_10-00-00_short"
    assert find_run_checkpoint(root, relative).resolve() == short / "model_4.pt"
    assert find_run_checkpoint(root, ".*_short") == short / "model_4.pt"
    assert find_run_checkpoint(root).name == "model_9.pt"  # the default: the newest run
    empty = _run(tmp_path, "not_a_run", "notes.txt")
    with pytest.raises(RunNotFoundError, match="no checkpoint matching 'model_.*' in .*not_a_run"):
        find_run_checkpoint(root, str(empty))
    with pytest.raises(RunNotFoundError, match="no run folder matching 'nowhere/2026' under"):
        find_run_checkpoint(root, "nowhere/2026")
    # a run name alone is not matched from the start of the folder name: the error says which regex would
    with pytest.raises(RunNotFoundError, match=r"from the start of the folder name.*'\.\*short' matches "
                                               r"2026-12-01_10-00-00_short\)$"):
        find_run_checkpoint(root, "short")


@pytest.mark.parametrize("name", ["a/b", "../up", "..", "", "a\\b"])
def test_run_names_that_would_nest_or_escape_the_log_folder_are_refused(name):
    with pytest.raises(ValueError, match="no path separator"):
        check_run_name(name)


def test_plain_run_names_pass():
    for name in (None, "labels_s0", "ram-v2.1"):
        check_run_name(name)
