"""Backup names, the manifest's JSON form, and the rules for an archive's entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from roost.domain.backups import (
    ArchiveRefused,
    Entry,
    FileEntry,
    Manifest,
    backup_name,
    check_backup_name,
    entry_problem,
    mismatches,
)
from roost.domain.errors import InvalidInput

MANIFEST = Manifest("i1", "game", "1", "0.1.0", "2026-11-30T12:00:00Z", {"name": "one"})


def test_names_sort_as_taken_and_are_checked_whole() -> None:
    first = backup_name(datetime(2026, 11, 30, 9, 5, 1, tzinfo=UTC), "manual")
    later = backup_name(datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC), "scheduled")
    assert first.startswith("20261130T090501Z-manual-") and first < later
    assert check_backup_name(first) == first
    for bad in (first + "\n", "../" + first, first.upper(), "", first + "x"):
        with pytest.raises(InvalidInput):
            check_backup_name(bad)


def test_a_manifest_survives_json_and_a_foreign_one_is_refused() -> None:
    with_files = Manifest(**{**MANIFEST.__dict__, "files": (FileEntry("data/a", 3, "ab", 0o600),)})
    assert Manifest.from_json(with_files.to_json()) == with_files
    for broken in (
        {},
        {**with_files.to_json(), "roost_backup": 2},
        {**with_files.to_json(), "files": [[1]]},
    ):
        with pytest.raises(ArchiveRefused):
            Manifest.from_json(broken)


@pytest.mark.parametrize(
    ("entry", "allowed"),
    [
        (Entry("files/data/a", "file", 1), True),
        (Entry("files/data/", "dir", 0), True),
        (Entry("manifest.json", "file", 1), True),
        (Entry("manifest.json", "symlink", 0, "files/a"), False),
        (Entry("files/data/l", "symlink", 0, "../x"), True),  # files/x: inside
        (Entry("files/l", "symlink", 0, "../x"), False),  # x: outside files/
        (Entry("files/./a", "file", 1), False),
        (Entry("files//a", "file", 1), False),
        (Entry("files\\a", "file", 1), False),
        (Entry("files", "file", 1), False),
    ],
)
def test_entry_rules(entry: Entry, allowed: bool) -> None:
    assert (entry_problem(entry) is None) is allowed


def test_mismatches_name_each_difference() -> None:
    listed = Manifest(
        **{**MANIFEST.__dict__, "files": (FileEntry("a", 1, "h1"), FileEntry("b", 2, "h2"))}
    )
    assert mismatches(listed, {"a": (1, "h1"), "b": (2, "h2")}) == []
    assert mismatches(listed, {"a": (1, "zz"), "c": (0, "h")}) == [
        "'c' is not in the manifest",
        "'b' is in the manifest but not in the archive",
        "'a' does not match its sha256 in the manifest",
    ]
