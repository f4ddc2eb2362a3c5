"""Named locks that are single-flight across threads, coroutines and processes.

Across processes: ``filelock`` on a file per name. It uses the OS lock
(``flock``/``LockFileEx``), which the kernel drops when the holder dies, so a
SIGKILLed agent never leaves a stale lock behind.

Within a process: a ``threading.Lock`` per lock file, because OS file locks
are per open file, not per thread, and a fresh lock object per acquisition
keeps the OS lock out of filelock's reentrancy bookkeeping. Coroutines queue
on an ``asyncio.Lock`` per event loop first, so 50 concurrent fetches wake one
at a time instead of all polling, and only the head of the queue polls the
thread and file locks (never blocking the event loop).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError, UsageError
from ._files import display_path

if TYPE_CHECKING:
    import asyncio

TimeoutFactory = Callable[[], Exception]

_registry_guard = threading.Lock()
_thread_locks: dict[str, threading.Lock] = {}
_loop_locks: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()

_POLL_FIRST = 0.002
_POLL_MAX = 0.05


def _thread_lock(path: Path) -> threading.Lock:
    with _registry_guard:
        return _thread_locks.setdefault(str(path), threading.Lock())


def _loop_lock(loop: asyncio.AbstractEventLoop, path: Path) -> asyncio.Lock:
    import asyncio

    with _registry_guard:
        locks = _loop_locks.setdefault(loop, {})
        return locks.setdefault(str(path), asyncio.Lock())


def _file_lock(path: Path) -> Any:
    import filelock

    return filelock.FileLock(path, mode=0o600, thread_local=False)


def _lock_file_error(path: Path, exc: OSError) -> StoreError:
    # filelock's own exceptions may carry more than the reason; keep it to one line.
    return StoreError(f"cannot use the lock file {display_path(path)}: {exc.strerror or type(exc).__name__}")


def _check_timeout(timeout: float) -> float:
    if not isinstance(timeout, (int, float)) or math.isnan(timeout) or timeout < 0:
        raise UsageError(f"lock timeout must be a number of seconds >= 0, not {timeout!r}")
    return float(timeout)


@contextmanager
def hold(path: Path, timeout: float, on_timeout: TimeoutFactory) -> Iterator[None]:
    """Block the calling thread until it alone, in all processes, holds ``path``."""
    import filelock

    timeout = _check_timeout(timeout)
    deadline = time.monotonic() + timeout
    tlock = _thread_lock(path)
    if not tlock.acquire(timeout=-1 if math.isinf(timeout) else timeout):
        raise on_timeout()
    try:
        flock = _file_lock(path)
        remaining = -1 if math.isinf(timeout) else max(0.0, deadline - time.monotonic())
        try:
            flock.acquire(timeout=remaining, poll_interval=_POLL_MAX)
        except filelock.Timeout:
            raise on_timeout() from None
        except OSError as exc:
            raise _lock_file_error(path, exc) from None
        try:
            yield
        finally:
            flock.release()
    finally:
        tlock.release()


@asynccontextmanager
async def ahold(path: Path, timeout: float, on_timeout: TimeoutFactory) -> AsyncIterator[None]:
    """The coroutine form of :func:`hold`; waits without blocking the event loop."""
    import asyncio

    import filelock

    timeout = _check_timeout(timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    queue = _loop_lock(loop, path)
    try:
        async with asyncio.timeout(None if math.isinf(timeout) else timeout):
            await queue.acquire()
    except TimeoutError:
        raise on_timeout() from None
    try:
        tlock = _thread_lock(path)
        flock = _file_lock(path)
        delay = _POLL_FIRST
        while True:
            if tlock.acquire(blocking=False):
                try:
                    flock.acquire(timeout=0)
                    break
                except filelock.Timeout:
                    tlock.release()
                except OSError as exc:
                    tlock.release()
                    raise _lock_file_error(path, exc) from None
                except BaseException:
                    tlock.release()
                    raise
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise on_timeout()
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX)
        try:
            yield
        finally:
            flock.release()
            tlock.release()
    finally:
        queue.release()
