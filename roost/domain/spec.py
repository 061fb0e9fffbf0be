"""The app spec (``roost.toml`` and ``POST /v1/apps``): parsed into frozen, typed objects.

Parsing is pure: the caller hands in the decoded TOML/JSON and a function that reads
a template file relative to the spec's folder. Every mistake is reported with where it
is (``roost.toml: apps.stack.services.web.command: ...``), all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any, Literal, TypeVar

import jinja2
import jinja2.meta
from jinja2 import nodes
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from roost.domain.backup_schedule import BackupSpec, schedule_of
from roost.domain.durations import parse_duration
from roost.domain.errors import InvalidInput
from roost.domain.layout import is_reserved
from roost.domain.names import ID, PORT_NAME
from roost.domain.probe_spec import HealthSpec
from roost.domain.sizes import parse_size
from roost.domain.templates import (
    INSTANCE_FIELDS,
    SECRETS,
    TEMPLATE_NAMES,
    is_inside,
    parse,
    unsafe_parts,
)

T = TypeVar("T")
Port = Annotated[int, Field(ge=1, le=65535)]


class SpecError(InvalidInput):
    """One or more mistakes in a spec; ``problems`` lists each as ``where: what``."""

    code = "INVALID_SPEC"

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(f"{source}: {problem}" for problem in problems)
        super().__init__(shown, code="INVALID_SPEC", problems=problems)


def _as_value_error(parse: Callable[..., T], value: Any) -> T:
    """Run a parser inside a pydantic validator, so its error keeps the field's location."""
    try:
        return parse(value, field="value")
    except InvalidInput as exc:
        raise ValueError(exc.message) from None


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedPort(Frozen):
    fixed: Port


PortSpec = Port | Literal["auto"] | FixedPort


class ServiceSpec(Frozen):
    command: Annotated[list[str], Field(min_length=1)]
    ports: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    restart: Literal["always", "on-failure", "no"] = "on-failure"
    health: HealthSpec | None = None
    restart_on_unhealthy: Annotated[int, Field(ge=1, le=1000)] | None = None  # failures
    metrics: Annotated[str, Field(pattern=r"^https?://")] | None = None  # its Prometheus text
    secrets: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    stop_timeout: float = 10.0
    start_timeout: float = 30.0  # to be running and listening (or healthy)
    image: Annotated[str, Field(min_length=1)] | None = None  # for the compose export

    @field_validator("stop_timeout", "start_timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return _as_value_error(parse_duration, value)

    def listed_secrets(self, secrets: Mapping[str, str] | None) -> dict[str, str]:
        """Of the instance's secrets, the ones this service receives."""
        return {name: value for name, value in (secrets or {}).items() if name in self.secrets}


class InlineFile(Frozen):
    content: str


class LimitsSpec(Frozen):
    memory: int | None = None
    cpu: Annotated[float, Field(gt=0, le=1024)] | None = None
    pids: Annotated[int, Field(ge=1)] | None = None

    @field_validator("memory", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int | None:
        return None if value is None else _as_value_error(parse_size, value)


class AppSpec(Frozen):
    name: str
    version: Annotated[str, Field(min_length=1, max_length=64)] = "1.0.0"
    port_stride: Annotated[int, Field(ge=1, le=10000)] = 100
    ports: dict[str, PortSpec] = Field(default_factory=dict)
    services: dict[str, ServiceSpec] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    files: dict[str, InlineFile] = Field(default_factory=dict)
    config: dict[str, Any] = Field(default_factory=dict)
    quotas: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    limits: LimitsSpec = LimitsSpec()
    backup: BackupSpec = BackupSpec()
    # checked before an instance is made, when a create asks (``validate`` in a spec file)
    validation: HealthSpec | None = Field(
        default=None, validation_alias=AliasChoices("validate", "validation")
    )
    install: list[str] | None = None
    uninstall: list[str] | None = None

    @property
    def bare(self) -> bool:
        return not self.services

    def stored_form(self) -> dict[str, Any]:
        """The spec as the registry keeps it: JSON, files inline, without the name."""
        return self.model_dump(mode="json", exclude={"name"})

    def service_ports(self, service: str) -> list[str]:
        """The ports a service uses: its list, else the port named like it, else none."""
        declared = self.services[service].ports
        if declared is not None:
            return declared
        return [service] if service in self.ports else []

    def start_order(self) -> list[str]:
        """Services in ``depends_on`` order (the spec was checked to have no cycle)."""
        order: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            for dependency in self.services[name].depends_on:
                visit(dependency)
            order.append(name)

        for name in self.services:
            visit(name)
        return order


class Spec(Frozen):
    default_app: str | None = None
    apps: dict[str, AppSpec]

    def app(self, name: str | None = None) -> AppSpec:
        chosen = (
            name or self.default_app or (next(iter(self.apps)) if len(self.apps) == 1 else None)
        )
        if chosen is None or chosen not in self.apps:
            raise InvalidInput(
                f"no app {chosen!r} in the spec" if chosen else "the spec names no default app",
                code="APP_NOT_FOUND",
            )
        return self.apps[chosen]


FileReader = Callable[[str], str]


def _no_files(path: str) -> str:
    raise ValueError(f"files must be inline ({{content = ...}}) here, not a path ({path!r})")


def parse_spec(data: Any, *, source: str = "spec", read_file: FileReader = _no_files) -> Spec:
    """The whole spec file (``default_app`` and ``[apps.*]``)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        raise SpecError(source, ["the spec must be a table (object)"])
    unknown = set(data) - {"default_app", "apps"}
    problems += [f"{key}: unknown key (expected default_app or apps)" for key in sorted(unknown)]
    raw_apps = data.get("apps")
    if not isinstance(raw_apps, dict) or not raw_apps:
        problems.append("apps: declare at least one app, as [apps.NAME]")
        raise SpecError(source, problems)
    apps: dict[str, AppSpec] = {}
    for name, body in raw_apps.items():
        try:
            apps[name] = parse_app(name, body, read_file=read_file, where=f"apps.{name}")
        except SpecError as exc:
            problems += exc.problems
    default = data.get("default_app")
    if default is not None and default not in raw_apps:
        problems.append(f"default_app: no app named {default!r}")
    if problems:
        raise SpecError(source, problems)
    return Spec(default_app=default, apps=apps)


def parse_app(
    name: str,
    data: Any,
    *,
    read_file: FileReader = _no_files,
    where: str = "app",
    source: str = "spec",
) -> AppSpec:
    """One app, as ``[apps.NAME]`` holds it or as ``POST /v1/apps`` sends it."""
    problems: list[str] = []
    if not ID.matches(name):
        problems.append(f"{where}: app name must be 1-63 lowercase letters, digits, '_' or '-'")
    if not isinstance(data, dict):
        raise SpecError(source, [*problems, f"{where}: must be a table (object)"])
    body = dict(data)
    body.pop("name", None)
    files: dict[str, Any] = {}
    for path, file in (body.pop("files", None) or {}).items():
        files[path] = _file(path, file, read_file, f"{where}.files.{path}", problems)
    try:
        app = AppSpec(name=name, files=files, **body)
    except ValidationError as exc:
        problems += [_located(where, error) for error in exc.errors()]
        raise SpecError(source, problems) from None
    except InvalidInput as exc:
        raise SpecError(source, [*problems, f"{where}: {exc.message}"]) from None
    problems += _check_app(app, where)
    if problems:
        raise SpecError(source, problems)
    return app


def _file(path: str, file: Any, read_file: FileReader, where: str, problems: list[str]) -> Any:
    if not is_inside(path):
        problems.append(f"{where}: a file path must be relative, inside the instance directory")
    elif is_reserved(path):
        problems.append(f"{where}: {path!r} is roost's own (roost.env, instance.json, env/, logs/)")
    if isinstance(file, str):
        try:
            return {"content": read_file(file)}
        except (OSError, ValueError) as exc:
            problems.append(f"{where}: cannot read template: {exc}")
            return {"content": ""}
    return file


def _located(where: str, error: Any) -> str:
    location = ".".join(
        str(part) for part in error["loc"] if not str(part).startswith(("function-", "literal["))
    )
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    return f"{where}.{location}: {message}" if location else f"{where}: {message}"


def _check_app(app: AppSpec, where: str) -> list[str]:
    problems: list[str] = []
    for port in app.ports:
        if not PORT_NAME.matches(port):
            problems.append(
                f"{where}.ports.{port}: a port name is a lowercase identifier (a-z, 0-9, _)"
            )
    try:
        schedule_of(app.backup.model_dump(exclude_none=True), {})
    except InvalidInput as exc:
        problems.append(f"{where}.{exc.message}")
    if app.validation is not None and len(app.validation.kinds()) != 1:
        problems.append(f"{where}.validate: give exactly one of http, tcp or cmd")
    for service, spec in app.services.items():
        at = f"{where}.services.{service}"
        if not ID.matches(service):
            problems.append(
                f"{at}: service name must be 1-63 lowercase letters, digits, '_' or '-'"
            )
        for port in spec.ports or []:
            if port not in app.ports:
                problems.append(f"{at}.ports: no port named {port!r} in {where}.ports")
        for dependency in spec.depends_on:
            if dependency not in app.services:
                problems.append(f"{at}.depends_on: no service named {dependency!r}")
        if spec.health is not None:
            if len(spec.health.kinds()) != 1:
                problems.append(f"{at}.health: give exactly one of http, tcp or cmd")
            if spec.health.tcp is not None and spec.health.tcp not in app.ports:
                problems.append(f"{at}.health.tcp: no port named {spec.health.tcp!r}")
        elif spec.restart_on_unhealthy is not None and not app.service_ports(service):
            problems.append(
                f"{at}.restart_on_unhealthy: the service has no probe (give health, or a port)"
            )
    problems += _cycles(app, where)
    problems += _templates(app, where)
    return problems


def _cycles(app: AppSpec, where: str) -> list[str]:
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> list[str] | None:
        if state.get(name) == 2 or name not in app.services:
            return None
        if state.get(name) == 1:
            return [*path[path.index(name) :], name]
        state[name] = 1
        for dependency in app.services[name].depends_on:
            cycle = visit(dependency, [*path, name])
            if cycle:
                return cycle
        state[name] = 2
        return None

    for name in app.services:
        cycle = visit(name, [])
        if cycle:
            return [f"{where}.services: depends_on has a cycle: {' -> '.join(cycle)}"]
    return []


def _templates(app: AppSpec, where: str) -> list[str]:
    """Every template parses and names only variables that exist."""
    found: list[str] = []

    def check(text: str, at: str, secrets: Iterable[str] | None = ()) -> None:
        """``secrets``: the names a service lists; None: any (files may use any secret)."""
        allowed = TEMPLATE_NAMES | ({SECRETS} if secrets is None or secrets else set())
        try:
            tree = parse(text)
        except jinja2.TemplateSyntaxError as exc:
            found.append(f"{at}: template error on line {exc.lineno}: {exc.message}")
            return
        found.extend(f"{at}: {problem}" for problem in unsafe_parts(tree))
        for name in sorted(jinja2.meta.find_undeclared_variables(tree) - allowed):
            found.append(f"{at}: template variable {name!r} does not exist")
        for node in tree.find_all(nodes.Getattr):
            if not isinstance(node.node, nodes.Name):
                continue
            if node.node.name == "ports" and node.attr not in app.ports:
                found.append(f"{at}: template uses ports.{node.attr}, which is not declared")
            elif node.node.name == "instance" and node.attr not in INSTANCE_FIELDS:
                found.append(f"{at}: template uses instance.{node.attr}, which does not exist")
            elif (
                node.node.name == SECRETS and secrets is not None and node.attr not in set(secrets)
            ):
                found.append(
                    f"{at}: template uses secrets.{node.attr}, which the service does not list"
                )

    for key, value in app.env.items():
        check(value, f"{where}.env.{key}")
    for name, service in app.services.items():
        at = f"{where}.services.{name}"
        for index, part in enumerate(service.command):
            check(part, f"{at}.command[{index}]", service.secrets)
        for key, value in service.env.items():
            check(value, f"{at}.env.{key}", service.secrets)
        for key, text in service.health.templates() if service.health else []:
            check(text, f"{at}.health{key}")
        if service.metrics is not None:
            check(service.metrics, f"{at}.metrics")
    for key, text in app.validation.templates() if app.validation else []:
        check(text, f"{where}.validate{key}")
    for hook in ("pre", "post"):
        for index, part in enumerate(getattr(app.backup, hook) or []):
            check(part, f"{where}.backup.{hook}[{index}]")
    for path, file in app.files.items():
        check(file.content, f"{where}.files.{path}", None)
    for hook in ("install", "uninstall"):
        for index, part in enumerate(getattr(app, hook) or []):
            check(part, f"{where}.{hook}[{index}]")
    return found
