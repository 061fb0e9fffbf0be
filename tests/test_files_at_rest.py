"""What roost keeps on disk is private: the home 0700, the registry database, the key
file and the cache log 0600; a home found looser is tightened, with a log line."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from roost.composition import open_context
from roost.home import Home
from roost.settings import Settings, sqlite_url


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


async def test_a_new_home_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, database_url=sqlite_url(home / "roost.db"))
    ctx = await open_context(settings, jobs=())
    try:
        assert mode(home) == 0o700
        assert mode(home / "secret.key") == 0o600
        assert mode(home / "roost.db") == 0o600
        assert mode(home / "roost.db-wal") == 0o600  # SQLite gives it the database's mode
        assert mode(home / "cache" / "cache.log") == 0o600
    finally:
        await ctx.close()


def test_a_home_others_could_read_is_tightened_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "secret.key").write_text("key\n")
    (home / "secret.key").chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="roost.home"):
        Home(home).ensure()
    assert mode(home) == 0o700 and mode(home / "secret.key") == 0o600
    assert f"{home} was mode 0755: tightened to 0700" in caplog.text
    caplog.clear()
    Home(home).ensure()
    assert caplog.text == ""  # already private: nothing to say
