"""The home directory on disk: its folders, its key file and the one-server lock."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
from pathlib import Path

from roost.domain.errors import Conflict, RoostError, no_room, out_of_space

INSTANCES = "instances"  # one folder per instance: roost.instance_dir says what it holds
SUBDIRS = (INSTANCES, "backups", "logs")
log = logging.getLogger("roost.home")


def private(path: Path, mode: int) -> None:
    """Take from ``path`` (when it exists) every permission ``mode`` does not give."""
    try:
        current = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return
    if current & ~mode:
        path.chmod(current & mode)
        log.warning("%s was mode %04o: tightened to %04o", path, current, current & mode)


IDENTITY_HEADER = "X-Roost-Home"  # /health answers with the identity of the home it serves


def identity(path: Path) -> str:
    """A home's name for others (its server tells it, cgroups are named by it): its
    resolved path, hashed, so it says which home without saying where."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


class Home:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock_fd: int | None = None

    @property
    def identity(self) -> str:
        return identity(self.path)

    @property
    def secret_key_file(self) -> Path:
        return self.path / "secret.key"

    @property
    def server_lock_file(self) -> Path:
        return self.path / "serve.lock"

    @property
    def server_socket(self) -> Path:
        """Where ``roost serve`` listens for the home's owner (mode 0600, no token)."""
        return self.path / "roost.sock"

    @property
    def server_log_file(self) -> Path:
        return self.path / "logs" / "serve.log"

    def ensure(self) -> None:
        """Create the home and its folders on first use (mode 0700: it holds secrets);
        a home or key file that others may read is tightened, and the log says so."""
        try:
            self.path.mkdir(parents=True, exist_ok=True, mode=0o700)
            private(self.path, 0o700)
            private(self.secret_key_file, 0o600)
            for name in SUBDIRS:
                (self.path / name).mkdir(exist_ok=True)
        except OSError as exc:
            raise RoostError(
                f"cannot use {self.path} as the home: {exc.strerror or exc}",
                code="HOME_UNUSABLE",
            ) from None

    def secret_keys(self) -> list[bytes]:
        """The home's Fernet keys (one line each, the first encrypts), made on first use.

        Mid-rotation the file holds the new key and the old one, so a crash at any
        point leaves every stored secret readable.
        """
        self.ensure()
        try:
            fd = os.open(self.secret_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return [
                line.strip()
                for line in self.secret_key_file.read_bytes().splitlines()
                if line.strip()
            ]
        from cryptography.fernet import Fernet  # here: every CLI call imports this module

        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return [key]

    def restic_password(self) -> Path:
        """``restic.password`` in the home (mode 0600), made with a random password on
        first use; the file's path."""
        path = self.path / "restic.password"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
        return path

    def write_secret_keys(self, keys: list[bytes]) -> None:
        """Replace ``secret.key`` atomically (write, fsync, rename), mode 0600."""
        temporary = self.secret_key_file.with_suffix(".new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(key + b"\n" for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.secret_key_file)

    def acquire_server_lock(self, description: str) -> None:
        """Hold the home's server lock until the process ends, or refuse with 409."""
        self.ensure()
        fd = os.open(self.server_lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise Conflict(
                f"another roost server already runs for home {self.path} ({holder})",
                code="SERVER_RUNNING",
            ) from None
        # written over what is there, then cut to length: on a full disk the write fails
        # and the file still says what it said (it is never emptied first)
        record = f"pid {os.getpid()} {description}".encode()
        try:
            os.pwrite(fd, record, 0)
            os.ftruncate(fd, len(record))
        except OSError as exc:
            os.close(fd)
            if out_of_space(exc):
                raise no_room(str(self.server_lock_file), exc) from None
            raise
        self._lock_fd = fd

    def release_server_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)
            self._lock_fd = None

    def server_pid(self) -> int | None:
        """The pid of the server holding the lock, or None when no server holds it."""
        try:
            fd = os.open(self.server_lock_file, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                words = os.read(fd, 200).decode(errors="replace").split()
                return int(words[1]) if len(words) > 1 and words[1].isdigit() else None
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)
