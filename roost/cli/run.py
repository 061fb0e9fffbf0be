"""Seed 004's verbs: ``roost up|down|start|stop|restart|pause|resume|status|logs ID|all``.

A lifecycle verb on many instances is one request: the server acts on them concurrently
and streams each outcome, shown behind a Rich progress bar. One failing instance does
not stop the others; the summary names each failure and the exit code says whether
all succeeded.
"""

import json
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Annotated, Any

import typer

from roost.cli import output
from roost.cli.base import JsonFlag, TargetArg, command
from roost.cli.client import Client, CliError, client_of
from roost.domain.ids import ordinal_of_id

CONCURRENCY = 16

AppOption = Annotated[str | None, typer.Option("--app", help="Only instances of this app.")]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="Only instances with this tag.")
]


def select(
    client: Client,
    target: str,
    app: str | None,
    tags: list[str] | None,
    *,
    runnable: bool = True,
) -> list[str]:
    """The instance ids ``target`` names: one id, or (``all``) every one that matches.
    With ``runnable``, a bare ``all`` is the instances of apps that have services: bare
    instances (cache tenants, seed 000's registrations) run nothing, and are named by
    id, ``--app`` or ``--tag`` when a verb is meant for them."""
    if target != "all":
        if app or tags:
            raise CliError("--app and --tag select among 'all', not one id", "USAGE_ERROR")
        return [target]
    params = [
        ("limit", "1000"),
        *([("app", app)] if app else []),
        *(("tag", t) for t in tags or []),
    ]
    found = client.collect("/v1/instances", "instances", params)
    if not runnable or app or tags:
        return [i["instance_id"] for i in found]
    bare = {a["name"] for a in client.json("GET", "/v1/apps")["apps"] if a["bare"]}
    return [i["instance_id"] for i in found if i["app"] not in bare]


Outcome = tuple[str, str | CliError]  # an instance id, and its line of result or its failure


def many(
    ids: list[str],
    verb: str,
    work: Callable[[str], str],
    batch: Callable[[list[str]], Iterable[Outcome]] | None = None,
) -> None:
    """Run ``work`` on one id, or on many (through ``batch`` when the server does them
    in one request, else ``CONCURRENCY`` at a time): a line of result each, a progress
    bar, and a summary naming each failure."""
    if len(ids) == 1:
        output.out.print(work(ids[0]), markup=False)
        return
    if not ids:
        output.out.print("no instances")
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    failures: dict[str, str] = {}
    answered: set[str] = set()
    broken: CliError | None = None
    columns = (TextColumn(f"{verb}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=output.err, transient=True) as progress:
        task = progress.add_task(verb, total=len(ids))
        try:
            for instance_id, result in batch(ids) if batch else _threaded(ids, work):
                answered.add(instance_id)
                if isinstance(result, CliError):
                    failures[instance_id] = f"{result.message} ({result.code})"
                else:
                    output.out.print(result, markup=False)  # stdout; the bar is on stderr
                progress.advance(task)
        except CliError as exc:  # the stream broke off: what was said stands
            broken = exc
    unknown = [i for i in ids if i not in answered]  # no outcome is not a success
    for instance_id in unknown:
        failures[instance_id] = "no outcome: the server stopped answering (UNKNOWN)"
    done = len(ids) - len(failures)
    output.out.print(f"{verb}: {done} of {len(ids)} succeeded")
    if failures:
        for instance_id in ids:
            if instance_id in failures:
                output.err.print(f"  {instance_id}: {failures[instance_id]}", markup=False)
        if unknown:
            why = f" ({broken.message})" if broken is not None else ""
            raise CliError(
                f"the server stopped answering{why}: {len(unknown)} of {len(ids)} outcomes unknown",
                "INCOMPLETE",
            )
        raise CliError(f"{len(failures)} of {len(ids)} failed", "PARTIAL_FAILURE")


def _threaded(ids: list[str], work: Callable[[str], str]) -> Iterator[Outcome]:
    def one(instance_id: str) -> Outcome:
        try:
            return instance_id, work(instance_id)
        except CliError as exc:
            return instance_id, exc

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        for future in as_completed([pool.submit(one, i) for i in ids]):
            yield future.result()


def _line(instance: dict[str, Any], as_json: bool) -> str:
    return output.dumps(instance) if as_json else f"{instance['instance_id']}: {instance['state']}"


class Lines:
    """The line for each instance acted on; a start of an instance of a bare app says
    that nothing runs (the apps are looked at once, before any stream is open)."""

    def __init__(self, client: Client, action: str, as_json: bool) -> None:
        self._client = client
        self._started = action == "start" and not as_json
        self._as_json = as_json
        self._bare: set[str] | None = None

    def prepare(self) -> None:
        if self._started and self._bare is None:
            apps = self._client.json("GET", "/v1/apps")["apps"]
            self._bare = {app["name"] for app in apps if app["bare"]}

    def __call__(self, instance: dict[str, Any]) -> str:
        line = _line(instance, self._as_json)
        self.prepare()
        if self._started and instance["app"] in (self._bare or ()):
            line += f" (nothing to run: the app {instance['app']!r} has no services)"
        return line


def _act(client: Client, action: str, as_json: bool) -> Callable[[str], str]:
    line = Lines(client, action, as_json)

    def work(instance_id: str) -> str:
        return line(client.json("POST", f"/v1/instances/{instance_id}/{action}"))

    return work


def _act_many(
    client: Client, action: str, as_json: bool, *, rolling: dict[str, Any] | None = None
) -> Callable[[list[str]], Iterator[Outcome]]:
    """The server acts on all of them in one request and streams each outcome."""
    line = Lines(client, action, as_json)
    extra = {} if rolling is None else {"rolling": rolling}
    return streamed(client, f"/v1/instances/{action}", extra, line, before=line.prepare)


def streamed(
    client: Client,
    path: str,
    extra: dict[str, Any],
    line: Callable[[dict[str, Any]], str],
    *,
    before: Callable[[], None] | None = None,
) -> Callable[[list[str]], Iterator[Outcome]]:
    """A batch for :func:`many`: one POST of the ids (and ``extra``) to ``path``, each
    streamed outcome a line of result or its failure."""

    def outcomes(ids: list[str]) -> Iterator[Outcome]:
        if before is not None:
            before()
        body = {"instance_ids": ids, **extra}
        for text in client.stream_lines(path, method="POST", json=body):
            item = json.loads(text)
            if "error" in item:
                yield item["instance_id"], CliError(item["error"], item["code"])
            else:
                yield item["instance_id"], line(item["instance"])

    return outcomes


def one_of(batch: Callable[[list[str]], Iterator[Outcome]]) -> Callable[[str], str]:
    """Work on one id through a batch of one (its failure raised)."""

    def one(instance_id: str) -> str:
        for _, result in batch([instance_id]):
            if isinstance(result, CliError):
                raise result
            return result
        raise CliError("the server stopped answering", "INCOMPLETE")

    return one


RollingFlag = Annotated[
    bool, typer.Option("--rolling", help="A few at a time, each healthy before the next.")
]
MaxUnavailable = Annotated[
    int, typer.Option("--max-unavailable", min=1, help="With --rolling: how many at once.")
]
RollTimeout = Annotated[
    float, typer.Option(min=0.1, help="With --rolling: seconds for each to be healthy.")
]


def service_target(target: str) -> tuple[str, str] | None:
    """``service@instance`` (seed 003's unit name): the service and the instance."""
    service, at, instance_id = target.partition("@")
    return (service, instance_id) if at and service and instance_id else None


def _act_on_service(client: Client, action: str, target: str, as_json: bool) -> bool:
    """Start, stop or restart one service when ``target`` is ``service@instance``;
    False when it names whole instances."""
    named = service_target(target)
    if named is None:
        return False
    if action not in ("start", "stop", "restart"):
        raise CliError(f"{action} acts on whole instances, not on {target!r}", "USAGE_ERROR")
    service, instance_id = named
    path = f"/v1/instances/{instance_id}/services/{service}/{action}"
    listing = client.json("POST", path)
    ran = next(s for s in listing["services"] if s["service"] == target)
    output.out.print(output.dumps(ran) if as_json else f"{target}: {ran['status']}", markup=False)
    return True


def _lifecycle(action: str, verb: str, help_text: str) -> Callable[..., None]:
    def run(
        ctx: typer.Context,
        target: TargetArg,
        app: AppOption = None,
        tag: TagOption = None,
        as_json: JsonFlag = False,
    ) -> None:
        client = client_of(ctx)
        if _act_on_service(client, action, target, as_json):
            return
        ids = select(client, target, app, tag)
        many(ids, verb, _act(client, action, as_json), _act_many(client, action, as_json))

    run.__doc__ = help_text
    return run


@command(name="restart")
def restart(
    ctx: typer.Context,
    target: TargetArg,
    app: AppOption = None,
    tag: TagOption = None,
    rolling: RollingFlag = False,
    max_unavailable: MaxUnavailable = 1,
    timeout: RollTimeout = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """Restart instances: stop, then start with current config (--rolling: stop at the
    first that is not healthy again, and say which were done, failed, not touched)."""
    client = client_of(ctx)
    if _act_on_service(client, "restart", target, as_json):
        return
    ids = select(client, target, app, tag)
    if not rolling:
        many(
            ids, "restart", _act(client, "restart", as_json), _act_many(client, "restart", as_json)
        )
        return
    roll = {"max_unavailable": max_unavailable, "timeout": timeout}
    batch = _act_many(client, "restart", as_json, rolling=roll)
    many(ids, "restart", one_of(batch), batch)


for _action, _verb, _help in (
    ("start", "start", "Start instances (ID or all)."),
    ("stop", "stop", "Stop instances."),
    ("pause", "pause", "Pause (freeze) instances."),
    ("resume", "resume", "Resume paused instances."),
    ("stop", "down", "Stop instances (seed 004's down)."),
):
    command(name=_verb)(_lifecycle(_action, _verb, _help))


@command(name="up")
def up(
    ctx: typer.Context,
    target: TargetArg,
    app: AppOption = None,
    tag: TagOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Start instances; an integer N that does not exist yet is created first (seed 004)."""
    client = client_of(ctx)
    if _act_on_service(client, "start", target, as_json):
        return
    start = _act(client, "start", as_json)

    def work(instance_id: str) -> str:
        if (
            target != "all"
            and ordinal_of_id(instance_id) is not None
            and not _exists(client, instance_id)
        ):
            client.json("POST", "/v1/instances", json={"instance_id": instance_id})
        return start(instance_id)

    many(select(client, target, app, tag), "up", work, _act_many(client, "start", as_json))


def _exists(client: Client, instance_id: str) -> bool:
    try:
        client.json("GET", f"/v1/instances/{instance_id}")
    except CliError as exc:
        if exc.code == "INSTANCE_NOT_FOUND":
            return False
        raise
    return True


@command(name="logs")
def logs(
    ctx: typer.Context,
    target: TargetArg,
    service: Annotated[str | None, typer.Argument(help="Only this service.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[
        int, typer.Option("-n", "--lines", help="Lines of history.", min=0, max=100000)
    ] = 100,
) -> None:
    """Print (and with -f follow) the instances' service logs, one line each, prefixed;
    ``service@ID`` is one service's."""
    client = client_of(ctx)
    named = service_target(target)
    if named is not None:
        if service is not None and service != named[0]:
            raise CliError(f"{target!r} already names the service", "USAGE_ERROR")
        service, target = named
    ids = select(client, target, None, None)
    params: dict[str, Any] = {"tail": lines, "follow": str(follow).lower()}
    if service:
        params["service"] = service
    prefix = len(ids) > 1
    write_lock = threading.Lock()

    def stream(instance_id: str) -> None:
        for line in client.stream_lines(f"/v1/instances/{instance_id}/logs", params=params):
            with write_lock:
                sys.stdout.write((f"{instance_id} " if prefix else "") + line + "\n")
                sys.stdout.flush()

    if len(ids) == 1:
        stream(ids[0])
        return
    with ThreadPoolExecutor(max(1, min(len(ids), 64))) as pool:
        for result in [pool.submit(stream, i) for i in ids]:
            result.result()
