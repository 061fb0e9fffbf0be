"""Every name is checked as a whole string: a trailing newline, carriage return, NUL or
tab never passes (a ``$`` matched before a final newline let them through)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from roost.domain.durations import parse_duration
from roost.domain.errors import InvalidInput
from roost.domain.ids import ordinal_of_id, validate_app_name, validate_instance_id
from roost.domain.spec import SpecError, parse_app
from roost.domain.templates import is_inside
from roost.runtime.exports.systemd import _PLAIN_WORD
from roost.services.secrets import check_secret

TAILS = ["\n", "\r", "\x00", "\t", "\r\n"]


def port_named(name: str) -> None:
    parse_app("a", {"ports": {name: 80}})


def service_named(name: str) -> None:
    parse_app("a", {"services": {name: {"command": ["x"]}}})


CHECKS: list[tuple[str, str, Callable[[str], Any], type[Exception]]] = [
    ("instance id", "tenant-b", validate_instance_id, InvalidInput),
    ("app name", "stack", validate_app_name, InvalidInput),
    ("secret name", "api_key", check_secret, InvalidInput),
    ("port name", "http", port_named, SpecError),
    ("service name", "web", service_named, SpecError),
]


@pytest.mark.parametrize("tail", TAILS, ids=repr)
@pytest.mark.parametrize(("what", "good", "check", "error"), CHECKS, ids=[c[0] for c in CHECKS])
def test_a_name_with_a_control_character_at_its_end_is_refused(
    what: str, good: str, check: Callable[[str], Any], error: type[Exception], tail: str
) -> None:
    check(good)
    with pytest.raises(error):
        check(good + tail)
    with pytest.raises(error):
        check(tail + good)


@pytest.mark.parametrize("tail", TAILS, ids=repr)
def test_other_whole_string_rules(tail: str) -> None:
    assert ordinal_of_id("7" + tail) is None  # not the ordinal 7
    assert not is_inside("motd.txt" + tail)
    assert _PLAIN_WORD.fullmatch("--port" + tail) is None  # quoted in a unit, never bare
    with pytest.raises(InvalidInput):
        parse_duration("5s\x00")
