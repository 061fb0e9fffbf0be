"""The names roost checks, each matched as a whole string.

A pattern ``^...$`` used with ``re.match`` lets a name end in a newline (``$`` also
matches before a final ``\\n``): that is how ``tenant-b\\n`` became an instance and a
service name injected lines into unit files. Every name is matched here with
``fullmatch``, so a trailing newline, a carriage return, a NUL or a tab never passes.
The patterns keep their ``^...$`` form for the OpenAPI document and pydantic, whose
``$`` is the end of the text.
"""

from __future__ import annotations

import re


class NamePattern:
    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = re.compile(pattern.removeprefix("^").removesuffix("$"))

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and self._compiled.fullmatch(value) is not None


# instance ids, app (product) names and service names: safe in paths, unit names,
# compose project names and key encodings
ID = NamePattern(r"^[a-z0-9][a-z0-9_-]{0,62}$")
INTEGER = NamePattern(r"^(0|[1-9][0-9]*)$")
PORT_NAME = NamePattern(r"^[a-z][a-z0-9_]{0,31}$")
SECRET_NAME = NamePattern(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
USER_NAME = NamePattern(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
TOKEN_NAME = NamePattern(r"^[^\x00-\x1f\x7f]{1,200}$")  # a label: printable text
TOKEN_ID = NamePattern(r"^[a-z0-9-]{1,32}$")
PRODUCT_ID = NamePattern(r"^[A-Za-z0-9._-]{1,128}$")  # as LCC gives them: case counts

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control(text: str) -> bool:
    """A control character (newline, carriage return, tab, NUL, ...) anywhere in ``text``."""
    return _CONTROL.search(text) is not None
