"""The one set of template rules: what a spec's templates may use, where its files may go."""

from __future__ import annotations

import pytest

from roost.domain.errors import InvalidInput
from roost.domain.templates import check_inside, is_inside, render, uses_secrets


def test_secret_use_is_found_in_the_template() -> None:
    assert uses_secrets("key={{ secrets.api_key }}")
    assert uses_secrets("{% if secrets %}x{% endif %}")
    assert not uses_secrets("port={{ ports.http }} secrets are words")


@pytest.mark.parametrize("path", ["a.env", "conf/game.ini", "deep/er/file", ".hidden"])
def test_a_relative_path_inside_is_fine(path: str) -> None:
    assert is_inside(path)
    check_inside(path)


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../x", "a/../../x", "a/..", "dir/", "a\x00b", "/"]
)
def test_a_path_that_could_leave_the_folder_is_refused(path: str) -> None:
    assert not is_inside(path)
    with pytest.raises(InvalidInput) as refused:
        check_inside(path)
    assert refused.value.code == "INVALID_PATH"


def test_rendering_a_missing_variable_is_a_clear_error() -> None:
    assert render("plain text", {}, where="x") == "plain text"
    assert render("{{ ports.http }}", {"ports": {"http": 80}}, where="x") == "80"
    with pytest.raises(InvalidInput) as failed:
        render("{{ ports.nope }}", {"ports": {}}, where="files.a")
    assert failed.value.code == "RENDER_FAILED" and "files.a" in failed.value.message
