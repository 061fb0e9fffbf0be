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


@pytest.mark.parametrize(
    "source", ["/etc/hostname", "../outside.j2", "templates/../../outside.j2", "link.j2"]
)
def test_template_sources_come_from_inside_the_spec_folder_only(
    tmp_path: Path, source: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside.j2").write_text("SECRET FROM OUTSIDE")
    (project / "link.j2").symlink_to(tmp_path / "outside.j2")  # a link that leaves the folder
    (project / "roost.toml").write_text(f'[apps.a.files]\n"a.txt" = "{source}"\n')
    with pytest.raises(SpecError) as refused:
        load_spec(project / "roost.toml")
    assert "apps.a.files.a.txt: cannot read template" in refused.value.message
    assert "not a file inside the spec's folder" in refused.value.message


@pytest.mark.parametrize("target", ["roost.env", "instance.json", "env/web.env", "logs/web.log"])
def test_a_file_may_not_take_the_name_of_one_of_roosts_own(tmp_path: Path, target: str) -> None:
    (tmp_path / "roost.toml").write_text(f'[apps.a.files]\n"{target}" = {{ content = "x" }}\n')
    with pytest.raises(SpecError) as refused:
        load_spec(tmp_path / "roost.toml")
    assert f"apps.a.files.{target}: {target!r} is roost's own" in refused.value.message
