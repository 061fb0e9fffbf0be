"""Known ways out of a Jinja template, each tried twice: as a spec is checked (refused,
naming the key) and rendered directly, past the check (refused by the sandbox, or
rendered harmlessly). A marker file shows that no payload ever ran a command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from roost.domain.errors import InvalidInput
from roost.domain.spec import SpecError, parse_app
from roost.domain.templates import render

RUN = "popen('touch {marker}').read()"
PAYLOADS = [
    "{{{{ lipsum.__globals__['os'].{run} }}}}",
    "{{{{ lipsum.__globals__.os.{run} }}}}",
    "{{{{ cycler.__init__.__globals__.os.{run} }}}}",
    "{{{{ joiner.__init__.__globals__.os.{run} }}}}",
    "{{{{ namespace.__init__.__globals__.os.{run} }}}}",
    "{{{{ self.__init__.__globals__.__builtins__.__import__('os').{run} }}}}",
    "{{{{ self._TemplateReference__context.cycler.__init__.__globals__.os.{run} }}}}",
    "{{{{ config.__class__.__init__.__globals__['os'].{run} }}}}",
    "{{{{ config.__class__.__mro__[1].__subclasses__() }}}}",
    "{{{{ ''.__class__.__mro__[1].__subclasses__() }}}}",
    "{{% for c in ''.__class__.__base__.__subclasses__() %}}{{{{ c }}}}{{% endfor %}}",
    "{{{{ config|attr('__class__')|attr('__init__')|attr('__globals__') }}}}",
    "{{{{ (config|attr('__class__')).__name__ }}}}",
    "{{{{ config['__class__'] }}}}",
    "{{{{ '{{0.__class__.__init__.__globals__}}'.format(config) }}}}",
    "{{{{ '%s'|format(config.__class__) }}}}",
    "{{{{ ports.update({{'http': 1}}) }}}}",
    "{{{{ range(10**9)|list }}}}",
    "{{{{ 'x' * 10**9 }}}}",
    "{{{{ 999 ** 999999 }}}}",
    "{{% include '/etc/passwd' %}}",
    "{{% import 'os' as os %}}",
    "{{% from 'os' import popen %}}",
    "{{% extends '/etc/hostname' %}}",
]


def payloads(marker: Path) -> list[str]:
    return [p.format(run=RUN.format(marker=marker)) for p in PAYLOADS]


def context() -> dict[str, Any]:
    return {"config": {"workers": 2}, "ports": {"http": 8080}, "instance": {"id": "1"}}


# What only the values tell (how large a repetition or a power is), and a format string
# (the sandbox's own formatter refuses what it names), are left to the render.
RENDER_TIME = {"str.format", "'x' * 10**9", "999 ** 999999"}


@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_the_spec_check_refuses_each_escape(index: int, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = payloads(marker)[index]
    body = {"files": {"motd.txt": {"content": payload}}, "env": {"X": payload}}
    if any(
        kind in payload or (kind == "str.format" and ".format(" in payload) for kind in RENDER_TIME
    ):
        parse_app("evil", body)  # accepted: test_rendered_past_the_check_nothing_runs
        return
    with pytest.raises(SpecError) as refused:
        parse_app("evil", body)
    assert any(p.startswith("app.files.motd.txt:") for p in refused.value.problems), (
        refused.value.problems
    )
    assert not marker.exists()


@pytest.mark.parametrize("index", range(len(PAYLOADS)))
def test_rendered_past_the_check_nothing_runs(index: int, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    refused: InvalidInput | None = None
    try:
        rendered = render(payloads(marker)[index], context(), where="files.motd.txt")
    except InvalidInput as exc:
        refused, rendered = exc, ""
    if refused is not None:
        assert refused.code == "RENDER_FAILED" and "files.motd.txt" in refused.message
    assert "popen" not in rendered and "<class" not in rendered, rendered
    assert len(rendered) < 10_000
    assert not marker.exists()


def test_an_expression_that_fails_is_a_render_error_not_a_crash() -> None:
    for template in ("{{ 1 / 0 }}", "{{ config + 1 }}", "{{ config.nope.deeper }}"):
        with pytest.raises(InvalidInput) as failed:
            render(template, context(), where="env.X")
        assert failed.value.code == "RENDER_FAILED"


def test_roosts_own_variables_and_filters_still_render() -> None:
    template = "{{ instance.id }}:{{ ports.http }} {{ config.workers * 2 }} {{ config|tojson }}"
    assert render(template, context(), where="x") == '1:8080 4 {"workers": 2}'
    assert render("{{ 2 ** 10 }} {{ 'ab' * 3 }}", {}, where="x") == "1024 ababab"
