"""Writing a template as the target engine's own variables, where that is exact.

``{{ ports.http }}`` in a systemd unit is ``${PORT_HTTP}``: the same for every instance,
and right for each. That holds only for text and plain ``{{ name.attr }}`` outputs; a
filter, an expression or a loop needs the real values, and then there is no symbolic
form (the caller renders the template per instance instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from jinja2 import nodes

from roost.domain.templates import parse


def symbolic(
    template: str, symbols: Mapping[tuple[str, str], str], escape: Callable[[str], str]
) -> str | None:
    """``template`` with each ``{{ name.attr }}`` replaced by ``symbols[(name, attr)]``
    and literal text passed through ``escape``; None when that would not be exact."""
    if "{" not in template:
        return escape(template)
    body = parse(template).body
    if len(body) != 1 or not isinstance(body[0], nodes.Output):
        return None
    pieces: list[str] = []
    for node in body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            pieces.append(escape(node.data))
        elif (
            isinstance(node, nodes.Getattr)
            and isinstance(node.node, nodes.Name)
            and (node.node.name, node.attr) in symbols
        ):
            pieces.append(symbols[(node.node.name, node.attr)])
        else:
            return None
    return "".join(pieces)
