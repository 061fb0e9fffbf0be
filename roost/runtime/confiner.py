"""What the supervisor knows of its instances' confinement: the cgroup each joins, how
it is frozen, what enforces each limit, and the OOM kills that explain an exit.

Without cgroups (a test, or a host that lets roost write none) nothing is confined and
pausing falls back to signals.
"""

from __future__ import annotations

import signal
from typing import Any

from roost.runtime.cgroups import Cgroups, CgroupUsage, Confinement
from roost.runtime.errors import CannotConfine
from roost.runtime.limits import Limits


class Confiner:
    def __init__(self, cgroups: Cgroups | None) -> None:
        self.cgroups = cgroups
        self._confinements: dict[str, Confinement] = {}

    def wrapper(self, instance_id: str, limits: Limits) -> list[str]:
        """Make (or update) the instance's cgroups; the argv prefix that puts a process
        in them. Runs where the host spawns: the cgroup files wait on the kernel."""
        if self.cgroups is None:
            return []
        try:
            confinement = self.cgroups.confine(instance_id, limits)
        except OSError as exc:
            raise CannotConfine(exc.strerror or str(exc)) from None
        self._confinements[instance_id] = confinement
        return confinement.wrapper()

    def oom_kills(self, instance_id: str) -> int:
        return 0 if self.cgroups is None else self.cgroups.oom_kills(instance_id)

    def killed_for_memory(self, instance_id: str, exit_code: int | None, oom_before: int) -> bool:
        """An exit by SIGKILL while the instance's count of OOM kills went up."""
        return exit_code == -signal.SIGKILL and self.oom_kills(instance_id) > oom_before

    def usage(self, instance_id: str) -> CgroupUsage | None:
        """What the instance's cgroups counted; None when it joined none."""
        confinement = self._confinements.get(instance_id)
        if self.cgroups is None or confinement is None or not confinement.procs:
            return None
        return self.cgroups.usage(instance_id, confinement.procs)

    def freeze(self, instance_id: str, frozen: bool) -> bool:
        """Freeze or thaw the instance with the cgroup freezer; False where there is
        none (the caller signals each process instead)."""
        confinement = self._confinements.get(instance_id)
        if self.cgroups is None or confinement is None or confinement.freezer == "signals":
            return False
        return self.cgroups.freeze(instance_id, frozen)

    def enforcement(self, instance_id: str, limits: Limits | None) -> dict[str, Any]:
        """Each limit that is set, with what enforces it; and the freezer in use."""
        confinement = self._confinements.get(instance_id)
        values = limits.as_dict() if limits is not None else {}
        enforced = confinement.enforced_by if confinement is not None else {}
        shown: dict[str, Any] = {
            name: {"value": value, "enforced_by": enforced.get(name, "none")}
            for name, value in values.items()
            if value is not None
        }
        shown["freezer"] = confinement.freezer if confinement is not None else "signals"
        return shown

    def release(self, instance_id: str) -> None:
        """The instance's processes are gone: remove its cgroups (made again, with the
        limits of the day, at its next start)."""
        if self.cgroups is not None:
            self.cgroups.remove(instance_id)
        self._confinements.pop(instance_id, None)

    def close(self) -> None:
        if self.cgroups is not None:
            self.cgroups.close()  # only what no process is in: running services keep theirs
