"""The templates of an app spec, and where its files may go (pure: no I/O).

Every string of a spec that is a template (commands, env, probes, files, hooks) is
parsed and rendered through the one Jinja environment here, checked against the one
list of variables here, and every file path is checked by the one rule here: the spec
checks them when it is parsed, and what renders and writes them checks them again.

The environment is Jinja's immutable sandbox with no globals at all (no ``lipsum``,
``cycler``, ``joiner``, ``namespace``, ``range``, ``dict``): a template sees roost's
variables and nothing else, cannot reach a private attribute, call an unsafe method,
change a value, or build a value of more than :data:`MAX_BUILT` items by ``*`` or
``**``. What the sandbox would refuse at render time, the spec check refuses first.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from roost.domain.errors import InvalidInput
from roost.domain.names import has_control

MAX_BUILT = 1_000_000  # characters or items a "*" may build
MAX_POWER = 64


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        big_power = _number(left) and _number(right) and abs(left) > 1 and abs(right) > MAX_POWER
        if operator == "**" and big_power:
            raise SecurityError(f"a template may raise to a power of at most {MAX_POWER}")
        if operator == "*":
            size = _repeated(left, right) or _repeated(right, left)
            if size > MAX_BUILT:
                raise SecurityError(f"the value would hold {size} items, over {MAX_BUILT}")
        return super().call_binop(context, operator, left, right)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _repeated(sequence: Any, times: Any) -> int:
    """How many items ``sequence * times`` would hold (0: not a repetition)."""
    if isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int):
        return len(sequence) * max(times, 0)
    return 0


ENVIRONMENT = _Sandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
    loader=jinja2.DictLoader({}),  # no template can pull in another
)
ENVIRONMENT.globals.clear()
FORBIDDEN_TAGS = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)
# The variables every template may use; ``secrets`` only where a service lists them.
TEMPLATE_NAMES = frozenset({"instance", "ports", "config", "app"})
SECRETS = "secrets"
INSTANCE_FIELDS = frozenset({"id", "name", "ordinal", "dir", "app", "version", "tags"})


def parse(template: str) -> nodes.Template:
    """The template's syntax tree (raises ``jinja2.TemplateSyntaxError``)."""
    return ENVIRONMENT.parse(template)


def unsafe_parts(tree: nodes.Template) -> list[str]:
    """What a spec's template may not do: pull in other templates, name ``self``, or
    reach for a private attribute (the sandbox would refuse the last two at render)."""
    found = []
    for node in tree.find_all(FORBIDDEN_TAGS):
        tag = type(node).__name__.lower().replace("fromimport", "from-import")
        found.append(f"templates may not {tag} other templates")
    if any(node.name == "self" for node in tree.find_all(nodes.Name)):
        found.append("template variable 'self' does not exist")
    names = [node.attr for node in tree.find_all(nodes.Getattr)]
    names += [_text(node.arg) for node in tree.find_all(nodes.Getitem)]
    names += [_text(node.args[0]) for node in tree.find_all(nodes.Filter) if node.name == "attr"]
    found += [f"template uses the private attribute {name!r}" for name in names if name[:1] == "_"]
    return found


def _text(node: nodes.Node) -> str:
    """A constant string's value ("" for anything else)."""
    return node.value if isinstance(node, nodes.Const) and isinstance(node.value, str) else ""


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
    except Exception as exc:  # what an expression raised: 1/0, a string plus a number ...
        message = f"cannot render {where}: {type(exc).__name__}: {exc}"
        raise InvalidInput(message, code="RENDER_FAILED") from None


def is_inside(path: str) -> bool:
    """A file path that stays inside the folder it is relative to: not empty, not
    absolute, no ``..`` part, not a folder (trailing ``/``), no control character."""
    return bool(
        path
        and not path.startswith("/")
        and not path.endswith("/")
        and ".." not in path.split("/")
        and not has_control(path)
    )


def check_inside(path: str) -> None:
    """Defence in depth where files are written: the spec was checked with the same rule."""
    if not is_inside(path):
        raise InvalidInput(f"unsafe file path {path!r}", code="INVALID_PATH")
