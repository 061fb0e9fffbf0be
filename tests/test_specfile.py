from __future__ import annotations

from pathlib import Path

import pytest

from roost.domain.spec import SpecError
from roost.specfile import load_spec


def test_template_paths_are_read_relative_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.j2").write_text("PORT={{ ports.web }}")
    (tmp_path / "roost.toml").write_text(
        '[apps.a.ports]\nweb = 80\n[apps.a.files]\n"a.env" = "templates/a.j2"\n'
    )
    assert load_spec(tmp_path / "roost.toml").app().files["a.env"].content == "PORT={{ ports.web }}"


def test_unreadable_or_invalid_files_are_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_spec(tmp_path / "missing.toml")
    (tmp_path / "roost.toml").write_text("[apps.a\n")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(tmp_path / "roost.toml")
