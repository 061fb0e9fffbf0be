"""Reading ``roost.toml`` from disk: the thin layer around ``domain.spec``."""

from __future__ import annotations

import tomllib
from pathlib import Path

from roost.domain.spec import Spec, SpecError, parse_spec
from roost.domain.templates import is_inside


def load_spec(path: Path) -> Spec:
    """Parse the spec file; template paths are read relative to its folder, and only
    from inside it."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(str(path), [f"cannot read the spec: {exc.strerror}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), [f"not valid TOML: {exc}"]) from None
    folder = path.parent.resolve()

    def read_file(relative: str) -> str:
        """A template file inside the spec's folder (links followed, but not out of it)."""
        target = (folder / relative).resolve()
        if not is_inside(relative) or not target.is_relative_to(folder):
            raise ValueError(f"{relative!r} is not a file inside the spec's folder")
        return target.read_text()

    return parse_spec(data, source=path.name, read_file=read_file)
