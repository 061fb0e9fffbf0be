"""Service plans: rendered argv, the environment a process gets, probes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from roost.domain.model import Instance
from roost.domain.spec import parse_app
from roost.domain.states import Health, State
from roost.runtime.plan import plan_instance


def instance() -> Instance:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Instance(
        pk=1,
        instance_id="7",
        app="stack",
        app_pk=1,
        version="1",
        name="seven",
        ordinal=7,
        state=State.INACTIVE,
        health=Health.UNKNOWN,
        config={},
        created_at=now,
        updated_at=now,
        ports={"api": 3911, "web": 5873},
    )


def test_plans_follow_depends_on_and_carry_what_a_process_gets() -> None:
    spec = parse_app(
        "stack",
        {
            "version": "1",
            "ports": {"api": 3211, "web": 5173},
            "config": {"level": "info"},
            "services": {
                "web": {
                    "command": ["./bin/web", "--port={{ ports.web }}"],
                    "depends_on": ["api"],
                    "health": {"http": "http://127.0.0.1:{{ ports.web }}/up"},
                },
                "api": {
                    "command": ["python3", "-m", "http.server", "{{ ports.api }}"],
                    "secrets": ["token"],
                    "env": {"LEVEL": "{{ config.level }}", "AUTH": "Bearer {{ secrets.token }}"},
                    "restart": "always",
                    "stop_timeout": "3s",
                    "start_timeout": "5s",
                },
            },
        },
    )
    folder = Path("/srv/roost/instances/7")
    plans = plan_instance(
        instance(),
        spec,
        {"level": "debug"},
        folder,
        {"token": "t0k", "other": "not-for-api"},
        "http://127.0.0.1:8080",
        {"PATH": "/usr/bin", "SECRET_OF_THE_SERVER": "x"},
    )
    api, web = plans
    assert (api.service, web.service) == ("api", "web")
    assert api.unit == "api@7"
    assert api.argv == ("python3", "-m", "http.server", "3911")
    assert web.argv == (f"{folder}/bin/web", "--port=5873")
    assert api.cwd == folder and api.log == folder / "logs" / "api.log"
    assert api.ports == (3911,) and web.ports == (5873,)
    assert api.env["PORT"] == "3911" and api.env["PORT_WEB"] == "5873"
    assert api.env["LEVEL"] == "debug" and api.env["AUTH"] == "Bearer t0k"
    assert api.env["token"] == "t0k" and "other" not in api.env
    assert "AUTH" not in web.env and "token" not in web.env
    assert api.env["PATH"] == "/usr/bin" and "SECRET_OF_THE_SERVER" not in api.env
    assert api.env["ROOST_INSTANCE_ID"] == "7" and api.env["ROOST_CACHE_URL"].endswith(":8080")
    assert (api.restart, api.stop_timeout, api.start_timeout) == ("always", 3.0, 5.0)
    assert web.probe is not None and web.probe.url == "http://127.0.0.1:5873/up"
    assert web.depends_on == ("api",)
    assert "t0k" not in repr(api)


def test_the_cache_token_goes_to_every_process() -> None:
    spec = parse_app("a", {"ports": {"web": 80}, "services": {"web": {"command": ["x"]}}})
    folder = Path("/srv/roost/instances/7")
    [web] = plan_instance(
        instance(), spec, {}, folder, {}, "http://127.0.0.1:8080", {}, cache_token="roostc_7_abc"
    )
    assert web.env["ROOST_CACHE_TOKEN"] == "roostc_7_abc"
