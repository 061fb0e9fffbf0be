"""A failure no route foresaw, on a real server: a JSON 500 on every surface, and the
keep-alive connection it came on stays usable (it used to be dropped without a word)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from roost.api import cache as data_plane
from roost.api.protocol import with_timeout
from roost.api.v1 import events
from roost.settings import Settings, sqlite_url
from tests.servers import free_port, in_thread


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    home = tmp_path / "home"
    chosen = free_port()
    settings = Settings(
        home=home, database_url=sqlite_url(home / "roost.db"), url=f"http://127.0.0.1:{chosen}"
    )
    with in_thread(settings, http=with_timeout(30)):
        yield chosen


def bug(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError("a bug nobody foresaw")


def exchange(connection: http.client.HTTPConnection, method: str, path: str) -> tuple[int, Any]:
    connection.request(method, path, headers={"X-Instance-ID": "tenant-1"})
    response = connection.getresponse()
    body = response.read()
    if not body:
        return response.status, None
    assert response.getheader("content-type", "").startswith("application/json"), body
    return response.status, json.loads(body)


def test_an_unforeseen_error_is_json_and_the_connection_goes_on(
    port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    assert exchange(connection, "GET", "/v1/events")[0] == 200
    monkeypatch.setattr(events, "list_events", bug)
    status, body = exchange(connection, "GET", "/v1/events")
    assert (status, body["code"]) == (500, "INTERNAL_ERROR")
    sock = connection.sock
    assert exchange(connection, "GET", "/v1/instances")[0] == 200
    assert connection.sock is sock, "the same connection answered the next request"
    assert "a bug nobody foresaw" in caplog.text  # logged once, with its traceback
    connection.close()


def test_an_unforeseen_error_on_the_data_plane_is_json_too(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    assert exchange(connection, "PUT", "/v1/cache/k")[0] == 204
    monkeypatch.setattr(data_plane, "_ttl", bug)
    status, body = exchange(connection, "PUT", "/v1/cache/k")
    assert (status, body["code"]) == (500, "INTERNAL_ERROR")
    sock = connection.sock
    monkeypatch.undo()
    assert exchange(connection, "GET", "/v1/cache/k")[0] == 200
    assert connection.sock is sock
    connection.close()
