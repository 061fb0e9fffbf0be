"""Files written in a thread of their own, in the order they are given.

Unpacking an archive of thousands of small files, the kernel's work of creating each
file costs as much as decompressing and hashing a MiB; in a second thread (``os.open``
and ``write`` let go of the GIL) it runs beside them instead of after them. Errors are
kept and raised by :meth:`FileWriter.finish` (or the next :meth:`FileWriter.open`
after one happened); nothing is written after an error.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

WAITING = 32  # operations queued at most (chunks of at most a MiB)
CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW

Operation = tuple[str, object, int] | None


class FileWriter:
    def __init__(self) -> None:
        self._queue: queue.Queue[Operation] = queue.Queue(WAITING)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="unpack-write", daemon=True)
        self._thread.start()

    def open(self, target: Path, mode: int) -> None:
        """Create ``target`` (never over an existing file or through a link)."""
        self._raise()
        self._queue.put(("open", target, mode))

    def write(self, data: bytes) -> None:
        self._queue.put(("write", data, 0))

    def close_file(self) -> None:
        self._queue.put(("close", None, 0))

    def finish(self) -> None:
        """Wait until everything given is written; raise the first error."""
        self._queue.put(None)
        self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        fd: int | None = None
        while (operation := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the caller learns of it at its next open or finish
            kind, value, mode = operation
            try:
                if kind == "open":
                    fd = os.open(value, CREATE, mode)  # type: ignore[arg-type]
                elif kind == "write" and fd is not None:
                    view = memoryview(value)  # type: ignore[arg-type]
                    while view:
                        view = view[os.write(fd, view) :]
                elif kind == "close" and fd is not None:
                    os.close(fd)
                    fd = None
            except OSError as error:
                self._error = error
        if fd is not None:
            os.close(fd)
