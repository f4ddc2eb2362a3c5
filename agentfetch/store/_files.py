"""Private JSON files: owner-only permissions, atomic replacement, corruption tolerance.

Many agent processes read these files while others rewrite them, and any of
them may be killed at any instant. So a file is only ever replaced whole
(temp file in the same directory, fsync, ``os.replace``, fsync of the directory):
a reader sees the old document or the new one, never a torn one. A document
that does not parse is reported once and read as empty; the next write moves
it aside (``<name>.corrupt``) rather than silently destroying it.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from ..errors import StoreError

log = logging.getLogger("agentfetch.store")

_CHECK_PERMISSIONS = os.name == "posix"
_reported: set[Hashable] = set()


def display_path(path: Path) -> str:
    """``~/...`` for paths under the home directory: shorter, and no user name in logs."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except (ValueError, RuntimeError):
        return str(path)


def warn_once(problem: Hashable, message: str) -> None:
    """One warning per problem per process, not one per read: a long-running
    agent (an MCP server) would otherwise repeat it on every fetch."""
    if problem not in _reported:
        _reported.add(problem)
        log.warning("agentfetch: %s", message)


def _file_state(path: Path, st: os.stat_result | None) -> Hashable:
    return (str(path), st.st_mtime_ns if st else 0, st.st_size if st else 0)


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) as 0700; tighten a directory that is too open."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError as exc:
        raise StoreError(f"cannot create the credential store directory {display_path(path)}: {_reason(exc)}") from None
    _check_owner_and_mode(path, st, 0o700, "directory")


def _check_owner_and_mode(path: Path, st: os.stat_result, wanted: int, what: str, fd: int | None = None) -> None:
    if not _CHECK_PERMISSIONS:
        return
    if st.st_uid != os.geteuid():
        raise StoreError(
            f"refusing to use credential store {what} {display_path(path)}: it is owned by another user",
            hint=f"remove it or chown it to yourself; it must be mode {wanted:o}",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        warn_once(
            _file_state(path, st),
            f"credential store {what} {display_path(path)} had mode {mode:o}; fixed to {wanted:o}",
        )
        try:
            if fd is not None:
                os.fchmod(fd, wanted)
            else:
                os.chmod(path, wanted)
        except OSError as exc:
            raise StoreError(f"cannot make {display_path(path)} private (mode {wanted:o}): {_reason(exc)}") from None


class JsonDocument:
    """One JSON object in one file. ``read()`` never raises for bad content."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what

    def read(self) -> dict[str, Any]:
        data, _corrupt = self._load()
        return data

    def read_for_update(self) -> dict[str, Any]:
        """Like ``read``, for a caller that holds the store lock and will ``write``:
        an unparseable file is kept aside so the write does not erase the evidence."""
        data, corrupt = self._load()
        if corrupt:
            aside = self.path.with_name(self.path.name + ".corrupt")
            try:
                os.replace(self.path, aside)
                log.warning("agentfetch: kept the unreadable %s as %s", self.what, display_path(aside))
            except OSError:
                pass  # the write below replaces it anyway
        return data

    def _load(self) -> tuple[dict[str, Any], bool]:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return {}, False
        except OSError as exc:
            warn_once(
                _file_state(self.path, None),
                f"cannot read {self.what} {display_path(self.path)} ({_reason(exc)}); treating it as empty",
            )
            return {}, False
        try:
            st = os.fstat(fd)
            _check_owner_and_mode(self.path, st, 0o600, "file", fd)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                raw = handle.read()
        except OSError as exc:
            warn_once(
                _file_state(self.path, None),
                f"cannot read {self.what} {display_path(self.path)} ({_reason(exc)}); treating it as empty",
            )
            return {}, False
        finally:
            os.close(fd)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            warn_once(
                _file_state(self.path, st),
                f"{self.what} {display_path(self.path)} is corrupt (not a JSON object); treating it as empty",
            )
            return {}, True
        return data, False

    def write(self, data: dict[str, Any]) -> None:
        try:
            payload = json.dumps(data, indent=1, sort_keys=True).encode()
        except (TypeError, ValueError) as exc:
            raise StoreError(f"cannot save {self.what}: a value is not JSON ({exc})") from None
        write_atomic(self.path, payload)


def write_atomic(path: Path, payload: bytes) -> None:
    """Replace ``path`` with ``payload`` (mode 0600) so that no reader, and no crash,
    ever sees a partial file. Raises StoreError (disk full, read-only...) and then
    leaves the previous file untouched and no temp file behind."""
    _sweep_dead_writers(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = -1
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        view = memoryview(payload)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
    except OSError as exc:
        if fd >= 0:
            os.close(fd)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StoreError(f"cannot write {display_path(path)}: {_reason(exc)}") from None
    _fsync_dir(path.parent)


def _sweep_dead_writers(path: Path) -> None:
    """Remove temp files left by writers that were killed mid-write, so that
    agents SIGKILLed by their harness do not slowly fill the disk."""
    for tmp in path.parent.glob(".*.tmp"):  # .<name>.<pid>.<random>.tmp
        try:
            pid = int(tmp.name.rsplit(".", 3)[1])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and not _alive(pid):
            try:
                tmp.unlink()
            except OSError:
                pass


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else; or no way to tell (Windows)
        return True
    return True


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and the
    # data is already safe from torn reads, so failure here is not an error.
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__
