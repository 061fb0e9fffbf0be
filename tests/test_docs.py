"""The README documents every command and every setting, so the docs cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from roost.cli.main import app

README = (Path(__file__).parent.parent / "README.md").read_text()


def command_names() -> list[str]:
    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names += [f"{name} {child}" for child in sub] if sub else [name]
    return names


def test_every_cli_command_is_in_the_readme() -> None:
    names = command_names()
    assert "create" in names and "db upgrade" in names
    for name in names:
        first, *rest = name.split()
        pattern = rf"`roost [^`]*\b{first}\b" + (rf"\s+{rest[0]}\b" if rest else "")
        assert re.search(pattern, README), f"`roost {name}` is not documented in README.md"


def test_every_setting_is_in_the_readme() -> None:
    source = "".join(p.read_text() for p in (Path(__file__).parent.parent / "roost").rglob("*.py"))
    settings = set(re.findall(r"\bROOST_[A-Z_]+\b", source))
    assert {"ROOST_HOME", "ROOST_DATABASE_URL", "ROOST_URL", "ROOST_SECRET_KEY"} <= settings
    for setting in settings:
        # a name ending in "_" is a prefix (ROOST_ARG_<n>): documented as `ROOST_ARG_<n>`
        documented = f"`{setting}<" if setting.endswith("_") else f"`{setting}`"
        assert documented in README, f"{setting} is not documented in README.md"


def test_the_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    lines = [line.split("#")[0].strip() for line in first_block.splitlines()[1:] if line.strip()]
    assert lines == ["scripts/serve", "scripts/test"]
    assert "scripts/test" in (Path(__file__).parent.parent / ".ci" / "run").read_text()


def test_the_readme_spec_example_is_a_valid_spec() -> None:
    import tomllib

    from roost.domain.spec import parse_spec

    block = README.split("## The app spec (`roost.toml`)")[1].split("```toml")[1].split("```")[0]
    spec = parse_spec(
        tomllib.loads(block),
        source="README.md",
        read_file=lambda path: "LEVEL={{ config.log_level }}",
    )
    assert spec.app().name == "stack"
    assert spec.app().service_ports("frontend") == ["frontend"]
