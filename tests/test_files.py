"""core.files.write_atomic: whole files or none, readable by all (no servers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lsts_sync.core.files import write_atomic


def test_the_target_is_replaced_whole_with_the_mode_asked_for(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    old = os.umask(0o077)
    try:
        write_atomic(target, b"new")
        write_atomic(tmp_path / "private", b"x", mode=0o600)
    finally:
        os.umask(old)
    assert target.read_bytes() == b"new" and target.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "private").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.json", "private"]


def test_a_failed_rename_keeps_the_old_file_and_leaves_no_temporary_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(b"old")
    seen: list[str] = []

    def refuse(src: str, dst: object) -> None:
        seen.append(Path(src).name)
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["plan.json"]
    assert seen[0].startswith(".plan.json.")


def test_a_missing_folder_is_an_error_not_created(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "absent" / "f", b"x")
