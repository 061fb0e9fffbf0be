"""The app spec: DESIGN.md's example parses; every kind of mistake is reported where it is."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from roost.domain.spec import SpecError, parse_app, parse_spec

DESIGN_EXAMPLE = """
default_app = "stack"

[apps.stack]
version = "1.0.0"
port_stride = 100

[apps.stack.ports]
backend = 3211
frontend = 5173
metrics = "auto"
rcon = { fixed = 25575 }

[apps.stack.services.backend]
command = ["python", "-m", "http.server", "{{ ports.backend }}", "--bind", "127.0.0.1"]
ports = ["backend", "metrics"]
env = { LOG_LEVEL = "{{ config.log_level }}" }
restart = "on-failure"
health = { http = "http://127.0.0.1:{{ ports.backend }}/", interval = "10s" }
secrets = ["api_key"]

[apps.stack.services.frontend]
command = ["python", "-m", "http.server", "{{ ports.frontend }}", "--bind", "127.0.0.1"]
depends_on = ["backend"]

[apps.stack.files]
"backend.env" = "templates/backend.env.j2"
"motd.txt" = { content = "Welcome to {{ instance.name }}" }

[apps.stack.config]
log_level = "info"

[apps.stack.quotas]
default = 1000

[apps.stack.limits]
memory = "512M"
cpu = 1.0

[apps.stack.backup]
paths = ["data"]
keep_last = 5
"""


def read(path: str) -> str:
    assert path == "templates/backend.env.j2"
    return "PORT={{ ports.backend }}\nLEVEL={{ config.log_level }}\n"


def test_the_design_example_parses() -> None:
    spec = parse_spec(tomllib.loads(DESIGN_EXAMPLE), source="roost.toml", read_file=read)
    app = spec.app()
    assert app.name == "stack" and spec.default_app == "stack"
    assert app.ports["backend"] == 3211
    assert app.ports["metrics"] == "auto"
    assert app.ports["rcon"].fixed == 25575  # type: ignore[union-attr]
    assert app.service_ports("backend") == ["backend", "metrics"]
    assert app.service_ports("frontend") == ["frontend"]  # the port named like the service
    assert app.start_order() == ["backend", "frontend"]
    assert app.services["backend"].health is not None
    assert app.services["backend"].health.interval == 10.0
    assert app.files["backend.env"].content.startswith("PORT=")
    assert app.limits.memory == 512 * 1024 * 1024
    assert app.quotas == {"default": 1000}
    assert app.services["frontend"].restart == "on-failure"
    assert app.backup.keep_last == 5


def problems_of(toml_text: str, **kwargs: Any) -> list[str]:
    with pytest.raises(SpecError) as refused:
        parse_spec(tomllib.loads(toml_text), source="roost.toml", **kwargs)
    assert refused.value.code == "INVALID_SPEC"
    assert refused.value.status == 400
    return refused.value.problems


@pytest.mark.parametrize(
    ("toml_text", "expected"),
    [
        ('[apps.a]\nversoin = "1"', "apps.a.versoin: unknown key"),
        ("[apps.a.ports]\nweb = 70000", "apps.a.ports.web"),
        ('[apps.a.ports]\nweb = "sometimes"', "apps.a.ports.web"),
        ("[apps.a.ports]\nWeb = 80", "apps.a.ports.Web: a port name is a lowercase identifier"),
        (
            "[apps.a.services.web]\nrestart = 'always'",
            "apps.a.services.web.command: Field required",
        ),
        ("[apps.a.services.web]\ncommand = []", "apps.a.services.web.command"),
        (
            "[apps.a.services.web]\ncommand = ['x']\nrestart = 'sometimes'",
            "apps.a.services.web.restart",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nports = ['http']",
            "apps.a.services.web.ports: no port named 'http'",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\ndepends_on = ['db']",
            "apps.a.services.web.depends_on: no service named 'db'",
        ),
        (
            "[apps.a.services.x]\ncommand = ['x']\ndepends_on = ['y']\n[apps.a.services.y]\ncommand = ['y']\ndepends_on = ['x']",
            "apps.a.services: depends_on has a cycle: x -> y -> x",
        ),
        (
            "[apps.a.services.web]\ncommand = ['{{ nothing }}']",
            "apps.a.services.web.command[0]: template variable 'nothing' does not exist",
        ),
        (
            "[apps.a.services.web]\ncommand = ['{{ ports.web }}']",
            "apps.a.services.web.command[0]: template uses ports.web, which is not declared",
        ),
        (
            "[apps.a.services.web]\ncommand = ['{{ instance.colour }}']",
            "template uses instance.colour, which does not exist",
        ),
        (
            "[apps.a.services.web]\ncommand = ['{{ secrets.token }}']",
            "template variable 'secrets' does not exist",
        ),
        (
            "[apps.a.services.web]\ncommand = ['{{ secrets.token }}']\nsecrets = ['other']",
            "template uses secrets.token, which the service does not list",
        ),
        (
            "[apps.a.services.web]\ncommand = ['{{ oops']",
            "apps.a.services.web.command[0]: template error on line 1",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nhealth = { interval = '5s' }",
            "apps.a.services.web.health: give exactly one of http, tcp or cmd",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nhealth = { tcp = 'nope' }",
            "apps.a.services.web.health.tcp: no port named 'nope'",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nhealth = { cmd = ['t'], failures = 0 }",
            "apps.a.services.web.health.failures",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nhealth = { cmd = ['{{ nope }}'] }",
            "apps.a.services.web.health.cmd[0]: template variable 'nope' does not exist",
        ),
        ("[apps.a.validate]\ninterval = '5s'", "apps.a.validate: give exactly one of"),
        (
            "[apps.a.validate]\nhttp = 'http://{{ secrets.key }}/'",
            "apps.a.validate.http: template variable 'secrets' does not exist",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nrestart_on_unhealthy = 3",
            "apps.a.services.web.restart_on_unhealthy: the service has no probe",
        ),
        (
            "[apps.a.services.web]\ncommand = ['x']\nstop_timeout = 'soon'",
            "apps.a.services.web.stop_timeout",
        ),
        ("[apps.a.services.Web]\ncommand = ['x']", "apps.a.services.Web: service name must be"),
        (
            "[apps.a.files]\n'../etc/passwd' = { content = 'x' }",
            "apps.a.files.../etc/passwd: a file path must be relative",
        ),
        ("[apps.a.files]\n'/abs' = { content = 'x' }", "a file path must be relative"),
        (
            "[apps.a.limits]\nmemory = 'lots'",
            "apps.a.limits.memory: value must be a size such as 512M",
        ),
        ("[apps.a.quotas]\nx = -1", "apps.a.quotas.x"),
        ('default_app = "b"\n[apps.a]', "default_app: no app named 'b'"),
        ("[apps.Bad]", "apps.Bad: app name must be"),
        ("colour = 'red'\n[apps.a]", "colour: unknown key"),
        ("x = 1", "apps: declare at least one app"),
    ],
)
def test_each_mistake_is_reported_with_its_place(toml_text: str, expected: str) -> None:
    problems = problems_of(toml_text)
    assert any(expected in problem for problem in problems), problems


def test_every_mistake_is_reported_at_once() -> None:
    problems = problems_of(
        "[apps.a]\nversoin = '1'\n[apps.b.services.web]\ncommand = ['{{ nope }}']"
    )
    assert len(problems) == 2
    with pytest.raises(SpecError) as refused:
        parse_spec(tomllib.loads("[apps.a]\nversoin = '1'"), source="roost.toml")
    assert refused.value.message.startswith("roost.toml: apps.a.versoin: unknown key")


def test_file_paths_are_read_through_the_reader_and_a_missing_one_is_reported() -> None:
    def missing(path: str) -> str:
        raise FileNotFoundError(f"no such file: {path}")

    problems = problems_of("[apps.a.files]\n'x.conf' = 'templates/x.j2'", read_file=missing)
    assert problems == ["apps.a.files.x.conf: cannot read template: no such file: templates/x.j2"]


def test_the_api_form_takes_inline_files_only() -> None:
    app = parse_app("svc", {"files": {"a.txt": {"content": "{{ instance.id }}"}}})
    assert app.files["a.txt"].content == "{{ instance.id }}"
    with pytest.raises(SpecError) as refused:
        parse_app("svc", {"files": {"a.txt": "templates/a.j2"}})
    assert "must be inline" in refused.value.problems[0]


def test_files_may_use_any_secret_and_are_checked_for_ports() -> None:
    parse_app("f", {"files": {"a": {"content": "{{ secrets.anything }}"}}})
    with pytest.raises(SpecError):
        parse_app("f", {"files": {"a": {"content": "{{ ports.none }}"}}})


def test_a_bare_app_has_no_services() -> None:
    assert parse_app("bare", {}).bare
    assert not parse_app("full", {"services": {"web": {"command": ["x"]}}}).bare
