"""``roost export systemd|compose|instance`` and ``roost import`` against a real server."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from roost.settings import Settings
from tests.cli.test_commands import ok, roost

EXAMPLE = Path(__file__).parents[2] / "examples" / "roost.toml"


def demo(runner: CliRunner, server: Settings) -> None:
    ok(runner, server, "apps", "add", str(EXAMPLE))
    ok(runner, server, "create", "1")
    ok(runner, server, "create", "2")


def test_export_systemd_and_compose_write_valid_files(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    demo(runner, live_server)
    units = tmp_path / "units"
    assert "wrote 12 files" in ok(  # 2 units; per instance 2 env files, 2 drop-ins, a slice
        runner, live_server, "export", "systemd", "all", "--out", str(units)
    )
    verify = subprocess.run(
        [
            shutil.which("systemd-analyze") or "systemd-analyze",
            "verify",
            "./roost-stack-backend@2.service",
            "./roost-stack-frontend@2.service",
        ],
        cwd=units,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr
    assert 'PORT_BACKEND="3411"' in (units / "env" / "2" / "backend.env").read_text()
    drop_in = units / "roost-stack-backend@2.service.d" / "roost.conf"
    assert "Slice=roost-stack-2.slice" in drop_in.read_text()

    compose = tmp_path / "compose"
    ok(runner, live_server, "export", "compose", "1", "-o", str(compose))
    config = subprocess.run(
        [shutil.which("docker-compose") or "docker-compose", "config"],
        cwd=compose / "stack" / "1",
        capture_output=True,
        text=True,
        check=False,
    )
    assert config.returncode == 0 and config.stderr == "", config.stderr
    services = yaml.safe_load(config.stdout)["services"]
    assert services["backend"]["ports"] == [{"published": 3311, "target": 3311}]
    assert services["frontend"]["ports"] == [{"published": 5273, "target": 5273}]
    assert not (compose / "stack" / "2").exists()


def test_export_errors_are_one_line(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    nothing = roost(runner, live_server, "export", "systemd", "all", "--out", str(tmp_path))
    assert nothing.exit_code == 1
    assert nothing.stderr.strip().endswith("(NOTHING_TO_EXPORT)")
    missing = roost(runner, live_server, "export", "compose", "nope", "--out", str(tmp_path))
    assert missing.exit_code == 1 and len(missing.stderr.strip().splitlines()) == 1


def test_export_and_import_instances_with_secrets(
    runner: CliRunner,
    live_server: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo(runner, live_server)
    roost(runner, live_server, "secret", "set", "2", "token", input="t0ken\n")
    plain = ok(runner, live_server, "export", "instance", "2")
    assert yaml.safe_load(plain)["instances"][0]["ports"] == {"backend": 3411, "frontend": 5373}

    monkeypatch.setenv("ROOST_PASSPHRASE", "pass phrase")
    document = tmp_path / "all.yaml"
    ok(runner, live_server, "export", "instance", "all", "--with-secrets", "-o", str(document))
    assert stat.S_IMODE(document.stat().st_mode) == 0o600
    assert "t0ken" not in document.read_text()

    ok(runner, live_server, "rm", "1", "--yes")
    ok(runner, live_server, "rm", "2", "--yes")
    monkeypatch.delenv("ROOST_PASSPHRASE")
    refused = roost(runner, live_server, "import", str(document))
    assert refused.exit_code == 1 and "PASSPHRASE_REQUIRED" in refused.stderr
    monkeypatch.setenv("ROOST_PASSPHRASE", "pass phrase")
    out = ok(runner, live_server, "import", str(document))
    assert "imported 1 (backend:3311 frontend:5273)" in out
    assert ok(runner, live_server, "secret", "get", "2", "token") == "t0ken\n"
    again = roost(runner, live_server, "import", str(document))
    assert again.exit_code == 1 and again.stderr.strip().endswith("(INSTANCE_EXISTS)")
    bad = tmp_path / "bad.yaml"
    bad.write_text("instances: [\n")
    broken = roost(runner, live_server, "import", str(bad))
    assert broken.exit_code == 1 and broken.stderr.strip().endswith("(INVALID_IMPORT)")
