"""Atomic writes (s2e.utils.files): the target holds the old file or the whole new one, never a part."""

import pytest

from s2e.utils.files import atomic_path, write_bytes_atomic, write_json_atomic


def test_a_finished_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "state.pt"
    write_bytes_atomic(path, b"old")
    with atomic_path(path) as tmp:
        assert tmp == path.parent / ".state.pt.tmp"  # beside the target (same file system), hidden
        tmp.write_bytes(b"new")
        assert path.read_bytes() == b"old"  # readers see the old file until the block ends
    assert path.read_bytes() == b"new" and [p.name for p in path.parent.iterdir()] == ["state.pt"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial_one(tmp_path):
    path = write_json_atomic(tmp_path / "history.json", [1, 2])
    with pytest.raises(OSError, match="disk full"):
        with atomic_path(path) as tmp:
            tmp.write_text("[1, 2, 3")
            raise OSError("disk full")
    assert path.read_text() == "[\n  1,\n  2\n]" and [p.name for p in tmp_path.iterdir()] == ["history.json"]


def test_the_partial_file_is_hidden_from_checkpoint_patterns(tmp_path):
    with atomic_path(tmp_path / "model_3.pt") as tmp:
        tmp.write_bytes(b"half a checkpoint")
        assert list(tmp_path.glob("model_*.pt")) == [] and tmp.exists()
