"""The templates of an app spec, and where its files may go (pure: no I/O).

Every string of a spec that is a template (commands, env, probes, files, hooks) is
parsed and rendered through the one Jinja environment here, checked against the one
list of variables here, and every file path is checked by the one rule here: the spec
checks them when it is parsed, and what renders and writes them checks them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes

from roost.domain.errors import InvalidInput

ENVIRONMENT = jinja2.Environment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)
# The variables every template may use; ``secrets`` only where a service lists them.
TEMPLATE_NAMES = frozenset({"instance", "ports", "config", "app"})
SECRETS = "secrets"
INSTANCE_FIELDS = frozenset({"id", "name", "ordinal", "dir", "app", "version", "tags"})


def parse(template: str) -> nodes.Template:
    """The template's syntax tree (raises ``jinja2.TemplateSyntaxError``)."""
    return ENVIRONMENT.parse(template)


@lru_cache(maxsize=4096)
def uses_secrets(template: str) -> bool:
    return any(node.name == SECRETS for node in parse(template).find_all(nodes.Name))


@lru_cache(maxsize=4096)
def _compiled(template: str) -> jinja2.Template:
    """Compiling is most of a render's cost; specs repeat the same few templates."""
    return ENVIRONMENT.from_string(template)


def render(template: str, context: Mapping[str, Any], *, where: str) -> str:
    if "{" not in template:
        return template  # no tag, no expression, no comment: nothing to render
    try:
        return _compiled(template).render(context)
    except jinja2.TemplateError as exc:
        raise InvalidInput(f"cannot render {where}: {exc}", code="RENDER_FAILED") from None


def is_inside(path: str) -> bool:
    """A file path that stays inside the folder it is relative to: not empty, not
    absolute, no ``..`` part, not a folder (trailing ``/``), no NUL."""
    return bool(
        path
        and not path.startswith("/")
        and not path.endswith("/")
        and ".." not in path.split("/")
        and "\x00" not in path
    )


def check_inside(path: str) -> None:
    """Defence in depth where files are written: the spec was checked with the same rule."""
    if not is_inside(path):
        raise InvalidInput(f"unsafe file path {path!r}", code="INVALID_PATH")
