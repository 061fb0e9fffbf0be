from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from roost.domain.errors import Conflict, InvalidInput
from roost.home import Home
from roost.settings import DEFAULT_URL, Settings, resolve_home


def test_home_flag_beats_environment_beats_project_beats_xdg(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "roost.toml").write_text("")
    env = {"XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert (
        resolve_home(tmp_path / "flag", {**env, "ROOST_HOME": "/x"}, project) == tmp_path / "flag"
    )
    assert (
        resolve_home(None, {**env, "ROOST_HOME": str(tmp_path / "env")}, project)
        == tmp_path / "env"
    )
    assert resolve_home(None, env, project / "sub") == project / ".roost"
    assert resolve_home(None, env, tmp_path) == tmp_path / "xdg" / "roost"


def test_settings_from_environment_and_defaults(tmp_path: Path) -> None:
    env = {"ROOST_HOME": str(tmp_path), "ROOST_URL": "http://127.0.0.1:9/", "ROOST_SECRET_KEY": "k"}
    settings = Settings.load(env=env)
    assert settings.home == tmp_path
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path}/roost.db"
    assert settings.url == "http://127.0.0.1:9"
    assert settings.secret_key == "k"
    flags = Settings.load(env=env, database_url="postgresql+asyncpg://x/y", url="http://h:1")
    assert (flags.database_url, flags.url) == ("postgresql+asyncpg://x/y", "http://h:1")
    assert Settings.load(env={"ROOST_HOME": str(tmp_path)}).url == DEFAULT_URL


def test_home_is_created_with_a_0600_secret_key_that_stays_the_same(tmp_path: Path) -> None:
    home = Home(tmp_path / "h")
    key = home.secret_keys()
    assert {p.name for p in home.path.iterdir()} >= {"instances", "backups", "logs", "secret.key"}
    assert stat.S_IMODE(os.stat(home.secret_key_file).st_mode) == 0o600
    assert Home(tmp_path / "h").secret_keys() == key
    assert len(key) == 1


def test_one_server_per_home(tmp_path: Path) -> None:
    first, second = Home(tmp_path / "h"), Home(tmp_path / "h")
    first.acquire_server_lock("http://127.0.0.1:1")
    try:
        assert second.server_pid() == os.getpid()
        with pytest.raises(Conflict) as refused:
            second.acquire_server_lock("http://127.0.0.1:2")
        assert refused.value.code == "SERVER_RUNNING"
    finally:
        first.release_server_lock()
    assert second.server_pid() is None
    second.acquire_server_lock("http://127.0.0.1:2")
    second.release_server_lock()


@pytest.mark.parametrize("url", ["bucket/x", "s3://", "http://bucket/x", "s3://b/x?y=1"])
def test_a_bad_s3_location_is_refused_at_start(tmp_path: Path, url: str) -> None:
    with pytest.raises(InvalidInput, match="s3://BUCKET") as refused:
        Settings.load(env={"ROOST_HOME": str(tmp_path), "ROOST_BACKUP_S3": url})
    assert refused.value.code == "INVALID_SETTING"
    good = Settings.load(env={"ROOST_HOME": str(tmp_path), "ROOST_BACKUP_S3": "s3://b/site/"})
    assert good.backup_s3 == "s3://b/site/"
