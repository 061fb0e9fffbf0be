"""Every CLI command through Typer's CliRunner, against a real server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from roost.cli.main import app, hoist_global_options
from roost.settings import Settings
from tests.servers import free_base


def roost(runner: CliRunner, server: Settings, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, ["--home", str(server.home), "--url", server.url, *args], input=input)


def ok(runner: CliRunner, server: Settings, *args: str) -> str:
    result = roost(runner, server, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def as_json(runner: CliRunner, server: Settings, *args: str) -> Any:
    return json.loads(ok(runner, server, *args, "--json"))


def test_create_show_list(runner: CliRunner, live_server: Settings) -> None:
    out = ok(
        runner,
        live_server,
        "create",
        "1",
        "--name",
        "Dev one",
        "-t",
        "dev",
        "-t",
        "eu",
        "-c",
        "level=3",
        "-c",
        "motd=hi",
    )
    assert "created 1" in out
    shown = as_json(runner, live_server, "show", "1")
    assert shown["name"] == "Dev one"
    assert shown["tags"] == ["dev", "eu"]
    assert shown["config"] == {"level": 3, "motd": "hi"}
    assert shown["ordinal"] == 1
    table = ok(runner, live_server, "show", "1")
    assert "Dev one" in table and "ordinal" in table
    ok(runner, live_server, "create", "2", "--version", "2.0.0")
    listed = as_json(runner, live_server, "list")
    assert [i["instance_id"] for i in listed] == ["1", "2"]
    assert [i["instance_id"] for i in as_json(runner, live_server, "list", "--tag", "dev")] == ["1"]
    assert [
        i["instance_id"] for i in as_json(runner, live_server, "list", "--version", "2.0.0")
    ] == ["2"]
    table = ok(runner, live_server, "list")
    assert "Dev one" in table and "ID" in table


def test_list_pages_through_more_than_one_page(runner: CliRunner, live_server: Settings) -> None:
    import httpx

    with httpx.Client(base_url=live_server.url) as http:
        for n in range(1005):
            assert http.post("/v1/instances", json={"instance_id": f"i{n}"}).status_code == 201
    assert len(as_json(runner, live_server, "list")) == 1005


def test_lifecycle_commands(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "w")
    assert ok(runner, live_server, "stop", "w").strip() == "w: inactive"
    assert ok(runner, live_server, "start", "w").strip() == (
        "w: active (nothing to run: the app 'default' has no services)"
    )
    assert ok(runner, live_server, "pause", "w").strip() == "w: paused"
    assert ok(runner, live_server, "resume", "w").strip() == "w: active"
    assert as_json(runner, live_server, "restart", "w")["state"] == "active"


def test_errors_are_one_line_and_exit_1(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "e")
    ok(runner, live_server, "stop", "e")
    for args, code in [
        (("pause", "e"), "INVALID_TRANSITION"),
        (("show", "nobody"), "INSTANCE_NOT_FOUND"),
        (("create", "e"), "INSTANCE_EXISTS"),
        (("create", "Bad"), "INVALID_INSTANCE_ID"),
        (("create", "--app", "missing"), "APP_NOT_FOUND"),
        (("create", "-c", "novalue"), "INVALID_CONFIG"),
        (("events", "--since", "yesterday"), "INVALID_TIME"),
    ]:
        result = roost(runner, live_server, *args)
        assert result.exit_code == 1, args
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ") and lines[0].endswith(f"({code})"), lines
        assert "Traceback" not in result.output


def test_rm_asks_unless_yes(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "r")
    declined = roost(runner, live_server, "rm", "r", input="n\n")
    assert declined.exit_code == 1
    assert as_json(runner, live_server, "show", "r")["instance_id"] == "r"
    confirmed = roost(runner, live_server, "rm", "r", input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    ok(runner, live_server, "create", "r2")
    assert "deleted r2" in ok(runner, live_server, "rm", "r2", "--yes")
    assert as_json(runner, live_server, "list") == []


def test_events_command(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "ev")
    ok(runner, live_server, "stop", "ev")
    found = as_json(runner, live_server, "events", "--instance", "ev")
    assert [e["action"] for e in found] == ["instance.create", "instance.stop"]
    assert "instance.stop" in ok(runner, live_server, "events")
    assert as_json(runner, live_server, "events", "--limit", "1")[0]["action"] == "instance.stop"


def test_db_upgrade_runs_migrations_without_a_server(
    runner: CliRunner, live_server: Settings
) -> None:
    out = ok(runner, live_server, "db", "upgrade")
    assert "up to date" in out


def test_shutdown_without_a_background_server(runner: CliRunner, live_server: Settings) -> None:
    # The live server runs in this process without the home lock: nothing to stop.
    assert "no roost server" in ok(runner, live_server, "shutdown")


def test_serve_refuses_a_taken_address(runner: CliRunner, live_server: Settings) -> None:
    port = live_server.url.rsplit(":", 1)[1]
    result = roost(runner, live_server, "serve", "--port", port)
    assert result.exit_code == 1
    assert "PORT_CONFLICT" in result.stderr


def test_help_lists_every_command(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in (
        "serve",
        "shutdown",
        "create",
        "list",
        "show",
        "rm",
        "start",
        "stop",
        "restart",
        "pause",
        "resume",
        "events",
        "db",
        "export",
        "import",
        "upgrade",
        "recover",
        "up",
        "down",
        "status",
        "logs",
    ):
        assert name in result.stdout


def test_global_options_may_follow_the_command() -> None:
    assert hoist_global_options(["serve", "--home", "/h", "--port", "1"]) == [
        "--home",
        "/h",
        "serve",
        "--port",
        "1",
    ]
    assert hoist_global_options(["list", "--url=http://x:1", "--json"]) == [
        "--url=http://x:1",
        "list",
        "--json",
    ]
    assert hoist_global_options(["create", "--", "--home"]) == ["create", "--", "--home"]


def test_cache_commands(runner: CliRunner, live_server: Settings) -> None:
    assert "greeting: 11 bytes" in ok(
        runner, live_server, "cache", "put", "greeting", "hello world", "-i", "demo"
    )
    result = roost(
        runner,
        live_server,
        "cache",
        "put",
        "a/b.c",
        "-i",
        "demo",
        "--ttl",
        "60",
        input="from stdin",
    )
    assert result.exit_code == 0, result.output
    assert ok(runner, live_server, "cache", "get", "greeting", "-i", "demo") == "hello world"
    assert ok(runner, live_server, "cache", "get", "a/b.c", "-i", "demo") == "from stdin"
    assert json.loads(ok(runner, live_server, "cache", "ls", "-i", "demo", "--json")) == [
        "a/b.c",
        "greeting",
    ]
    assert ok(runner, live_server, "cache", "ls", "-i", "demo", "--prefix", "a/").split() == [
        "a/b.c"
    ]
    assert "deleted a/b.c" in ok(runner, live_server, "cache", "del", "a/b.c", "-i", "demo")
    missing = roost(runner, live_server, "cache", "get", "a/b.c", "-i", "demo")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "error: key not found (KEY_NOT_FOUND)"
    other = roost(runner, live_server, "cache", "get", "greeting", "-i", "other")
    assert other.exit_code == 1  # another instance's namespace is empty


def test_apps_commands(runner: CliRunner, live_server: Settings, tmp_path: Path) -> None:
    spec = tmp_path / "roost.toml"
    spec.write_text(
        'default_app = "stack"\n[apps.stack]\nversion = "1.0.0"\n[apps.stack.ports]\nweb = 8000\n'
        '[apps.stack.services.web]\ncommand = ["python", "-m", "http.server", "{{ ports.web }}"]\n'
        "[apps.other]\n"
    )
    assert (
        ok(runner, live_server, "apps", "add", str(spec)).split("\n")[0] == "stack 1.0.0 (default)"
    )
    listed = as_json(runner, live_server, "apps", "list")
    assert [(a["name"], a["default"]) for a in listed] == [("other", False), ("stack", True)]
    assert "web" in ok(runner, live_server, "apps", "list")
    shown = as_json(runner, live_server, "apps", "show", "stack")
    assert shown["spec"]["services"]["web"]["command"][-1] == "{{ ports.web }}"
    assert ok(runner, live_server, "create", "--json").count('"app": "stack"') == 1
    spec.write_text(spec.read_text().replace("8000", "9000"))
    refused = roost(runner, live_server, "apps", "add", str(spec))
    assert refused.exit_code == 1 and "VERSION_EXISTS" in refused.stderr
    spec.write_text("[apps.bad.services.web]\ncommand = []\n")
    invalid = roost(runner, live_server, "apps", "add", str(spec))
    assert invalid.exit_code == 1 and "INVALID_SPEC" in invalid.stderr
    assert "apps.bad.services.web.command" in invalid.stderr


def test_ports_option_and_command(runner: CliRunner, live_server: Settings, tmp_path: Path) -> None:
    spec = tmp_path / "roost.toml"
    base = free_base()
    spec.write_text(f"[apps.web.ports]\nhttp = {base}\nadmin = 'auto'\n")
    ok(runner, live_server, "apps", "add", str(spec))
    created = as_json(
        runner, live_server, "create", "1", "--app", "web", "--port", f"http={base + 77}"
    )
    assert created["ports"]["http"] == base + 77
    assert 20000 <= created["ports"]["admin"] <= 29999
    rows = as_json(runner, live_server, "ports", "1")
    assert {(r["name"], r["port"]) for r in rows} == {
        ("http", base + 77),
        ("admin", created["ports"]["admin"]),
    }
    assert str(base + 77) in ok(runner, live_server, "ports")
    bad = roost(runner, live_server, "create", "--app", "web", "--port", "http")
    assert bad.exit_code == 1 and "INVALID_PORT" in bad.stderr


def test_secret_commands(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "s")
    result = roost(runner, live_server, "secret", "set", "s", "API_KEY", input="hunter2\n")
    assert result.exit_code == 0, result.output
    assert "hunter2" not in result.output
    listed = ok(runner, live_server, "secret", "list", "s")
    assert "API_KEY" in listed and "hunter2" not in listed
    assert [s["name"] for s in as_json(runner, live_server, "secret", "list", "s")] == ["API_KEY"]
    assert ok(runner, live_server, "secret", "get", "s", "API_KEY") == "hunter2\n"
    assert "re-encrypted 1" in ok(runner, live_server, "secret", "rotate-key")
    assert ok(runner, live_server, "secret", "get", "s", "API_KEY") == "hunter2\n"
    assert "deleted" in ok(runner, live_server, "secret", "rm", "s", "API_KEY")
    missing = roost(runner, live_server, "secret", "get", "s", "API_KEY")
    assert missing.exit_code == 1 and missing.stderr.strip().endswith("(SECRET_NOT_FOUND)")


def test_config_commands(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "c", "-c", "level=3")
    assert "set" in ok(
        runner, live_server, "config", "set", "c", "cache.max_keys=10", "name=web", "on=true"
    )
    assert json.loads(ok(runner, live_server, "config", "get", "c")) == {
        "level": 3,
        "cache": {"max_keys": 10},
        "name": "web",
        "on": True,
    }
    assert json.loads(ok(runner, live_server, "config", "get", "c", "cache.max_keys")) == 10
    ok(runner, live_server, "config", "unset", "c", "cache.max_keys")
    missing = roost(runner, live_server, "config", "get", "c", "cache.max_keys")
    assert missing.exit_code == 1 and missing.stderr.strip().endswith("(CONFIG_KEY_NOT_FOUND)")


def test_clean_command(runner: CliRunner, live_server: Settings, tmp_path: Path) -> None:
    spec = tmp_path / "roost.toml"
    spec.write_text(
        '[apps.w.services.web]\ncommand = ["true"]\n[apps.w.files]\n"a.txt" = { content = "x" }\n'
    )
    ok(runner, live_server, "apps", "add", str(spec))
    ok(runner, live_server, "create", "1", "--app", "w")
    ok(runner, live_server, "create", "2", "--app", "w")
    assert (live_server.home / "instances" / "1" / "a.txt").exists()
    assert ok(runner, live_server, "clean", "1").strip() == "cleaned 1"
    assert not (live_server.home / "instances" / "1" / "a.txt").exists()
    ok(
        runner, live_server, "cache", "put", "k", "v", "-i", "bare"
    )  # a bare, active instance: clean refuses it
    everything = roost(runner, live_server, "clean", "all")
    assert everything.exit_code == 1
    assert "cleaned 2" in everything.stdout
    assert "PARTIAL_FAILURE" in everything.stderr and "bare" in everything.stderr


def test_init_writes_a_spec_that_registers(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    assert "wrote" in ok(runner, live_server, "init", str(tmp_path))
    assert (tmp_path / "roost.toml").exists() and (
        tmp_path / "templates" / "backend.env.j2"
    ).exists()
    again = roost(runner, live_server, "init", str(tmp_path))
    assert again.exit_code == 1 and "FILE_EXISTS" in again.stderr
    ok(runner, live_server, "init", str(tmp_path), "--force")
    assert "stack 1.0.0 (default)" in ok(
        runner, live_server, "apps", "add", str(tmp_path / "roost.toml")
    )
    created = as_json(runner, live_server, "create", "1")
    assert (created["app"], created["ports"]) == ("stack", {"backend": 3311, "frontend": 5273})


def test_clone_command(runner: CliRunner, live_server: Settings) -> None:
    ok(runner, live_server, "create", "src", "-t", "x", "-c", "k=1")
    assert ok(runner, live_server, "clone", "src", "dst").strip() == "cloned src to dst"
    copy = as_json(runner, live_server, "show", "dst")
    assert (copy["tags"], copy["config"], copy["name"]) == (["x"], {"k": 1}, "src (copy)")
    assert (
        as_json(runner, live_server, "clone", "src", "--name", "third", "--no-data")["name"]
        == "third"
    )


def test_upgrade_and_recover_commands(
    runner: CliRunner, live_server: Settings, tmp_path: Path
) -> None:
    spec = tmp_path / "roost.toml"
    spec.write_text(
        f'[apps.web]\nversion = "1"\nports = {{ http = {free_base()} }}\n'
        '[apps.web.services.s]\ncommand = ["true"]\n'
    )
    ok(runner, live_server, "apps", "add", str(spec))
    ok(runner, live_server, "create", "3")
    assert "already on web 1" in ok(runner, live_server, "upgrade", "3")
    spec.write_text(spec.read_text().replace('version = "1"', 'version = "2"'))
    ok(runner, live_server, "apps", "add", str(spec))
    assert "upgraded 3: web 1 -> 2" in ok(runner, live_server, "upgrade", "3")
    assert as_json(runner, live_server, "upgrade", "3", "--version", "1")["version"] == "1"
    missing = roost(runner, live_server, "upgrade", "3", "--version", "7")
    assert missing.exit_code == 1 and missing.stderr.strip().endswith("(VERSION_NOT_FOUND)")
    assert "0 recovered, 1 already registered, 0 skipped" in ok(runner, live_server, "recover")
