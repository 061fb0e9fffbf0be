"""Running a command to its end within a time limit (the thin OS layer): an app's install
and uninstall hooks, and ``cmd`` probes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TAIL_LINES = 20
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class HookResult:
    code: int
    tail: str  # the last lines of stdout and stderr, interleaved
    started: bool = True  # False: it could not be run at all (``tail`` says why)
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.code == 0


async def run_hook(
    argv: list[str], *, cwd: Path, env: Mapping[str, str], time_limit_s: float = DEFAULT_TIMEOUT_S
) -> HookResult:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return HookResult(127, f"cannot run {argv[0]!r}: {exc.strerror}", started=False)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), time_limit_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):  # its group: what it started too
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
        return HookResult(124, f"timed out after {time_limit_s:g} s", timed_out=True)
    lines = output.decode(errors="replace").rstrip().splitlines()
    return HookResult(process.returncode or 0, "\n".join(lines[-TAIL_LINES:]))
