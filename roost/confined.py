"""Files under a folder, reached without ever following a link (the thin OS layer).

A path is walked one component at a time from the folder's own descriptor, each opened
with ``O_NOFOLLOW``: a symbolic link planted anywhere on the way (``conf -> /etc``) is
refused instead of written through, and a link at the end is replaced, never its
target. Writes are whole or not at all: a temporary file in the same folder, fsync,
rename.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from types import TracebackType

from roost.domain.errors import InvalidInput
from roost.domain.templates import check_inside

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(InvalidInput):
    code = "UNSAFE_PATH"


def _refused(path: str, exc: OSError) -> UnsafePath:
    return UnsafePath(
        f"{path!r} goes through a link or something that is not a folder ({exc.strerror}):"
        " roost never writes through one",
        path=path,
    )


class Confined:
    """A folder, opened once (``create``: made first, mode 0700, when missing)."""

    def __init__(self, root: Path, *, create: bool = False) -> None:
        if create:
            root.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._fd = os.open(root, _DIRECTORY)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _refused(str(root), exc) from None
            raise

    def __enter__(self) -> Confined:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        os.close(self._fd)

    def _folder(self, path: str, *, create: bool) -> tuple[int, str]:
        """A descriptor of the folder ``path`` is in (the caller closes it), and its name."""
        check_inside(path)
        *folders, name = path.split("/")
        fd = os.dup(self._fd)
        try:
            for part in folders:
                try:
                    inner = os.open(part, _DIRECTORY, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o700, dir_fd=fd)
                    inner = os.open(part, _DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = inner
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _refused(path, exc) from None
            raise
        return fd, name

    def read(self, path: str) -> tuple[bytes, int] | None:
        """The file's bytes and mode; None when it is missing or is not a plain file."""
        try:
            folder, name = self._folder(path, create=False)
        except (FileNotFoundError, UnsafePath):
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
        except OSError:
            return None
        finally:
            os.close(folder)
        with os.fdopen(fd, "rb") as handle:
            return handle.read(), os.fstat(handle.fileno()).st_mode & 0o777

    def write(self, path: str, content: bytes, *, mode: int = 0o644) -> None:
        """Replace the file whole (a link there is replaced, not followed)."""
        folder, name = self._folder(path, create=True)
        temporary = f".{name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            with os.fdopen(os.open(temporary, flags, mode, dir_fd=folder), "wb") as handle:
                os.fchmod(handle.fileno(), mode)  # whatever the umask
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary, dir_fd=folder)
            raise
        finally:
            os.close(folder)

    def unlink(self, path: str) -> bool:
        """Remove the file (a link: the link itself); False when there was none."""
        try:
            folder, name = self._folder(path, create=False)
        except FileNotFoundError:
            return False
        try:
            os.unlink(name, dir_fd=folder)
        except FileNotFoundError:
            return False
        finally:
            os.close(folder)
        return True
