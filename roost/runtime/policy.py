"""When a service that exited is started again (pure: times are handed in).

Like systemd: ``always`` restarts whatever the exit, ``on-failure`` only after a non-zero
exit or a signal, ``no`` never. Restarts back off exponentially from 0.5 s to 30 s; a
service that ran for a while starts the count over. Too many failures in a window
(the start limit, 5 in 60 s) and the service is given up: the instance goes to ``error``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STABLE_AFTER = 10.0  # a run this long resets the backoff
LIMIT_BURST = 5
LIMIT_INTERVAL = 60.0


def restart_wanted(policy: Literal["always", "on-failure", "no"], exit_code: int | None) -> bool:
    """``exit_code`` None: unknown (an adopted process); it counts as a failure."""
    if policy == "always":
        return True
    if policy == "on-failure":
        return exit_code != 0
    return False


@dataclass
class RestartBook:
    """One service's recent failures: the next delay, and whether to give up."""

    burst: int = LIMIT_BURST
    interval: float = LIMIT_INTERVAL
    first: float = BACKOFF_FIRST
    maximum: float = BACKOFF_MAX
    stable_after: float = STABLE_AFTER
    consecutive: int = 0
    recent: deque[float] = field(default_factory=deque)

    def exited(self, *, now: float, ran_for: float) -> None:
        """Record an exit that will be followed by a restart (or a give-up)."""
        if ran_for >= self.stable_after:
            self.consecutive = 0
        self.consecutive += 1
        self.recent.append(now)
        while self.recent and self.recent[0] <= now - self.interval:
            self.recent.popleft()

    @property
    def limit_hit(self) -> bool:
        return len(self.recent) >= self.burst

    @property
    def delay(self) -> float:
        if self.consecutive == 0:
            return 0.0
        return float(min(self.first * 2.0 ** (self.consecutive - 1), self.maximum))

    def reset(self) -> None:
        self.consecutive = 0
        self.recent.clear()
