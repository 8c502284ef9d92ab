"""Worker processes die with the process that started them, however it dies.

Why: a batch worker holds a model (about 1 GB of RSS with the real engine). When the batch parent
was killed with ``kill -9``, its ``ProcessPoolExecutor`` workers lived on as orphans (parented to
PID 1, still using CPU) for hours; a user who stopped and restarted a batch a few times ran out of
memory. Python's pool only notices a dead parent when it next talks to it, and an idle or busy
worker never does.

Two independent guards, both installed by :func:`die_with_parent` from the worker's initializer:

1. **Parent-death signal** (Linux): ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` makes the kernel kill
   the worker the moment its parent goes, even while it is deep inside ``llama_decode``. SIGKILL
   because a worker has nothing to clean up (the parent is the only writer of the job store) and
   a handler-proof signal cannot be swallowed by a library. The kernel sends it when the parent
   *thread* that created the worker exits; the pool is created and used by one thread for the
   whole batch, so that is the parent's lifetime.
2. **A watchdog thread** (every platform): waits on multiprocessing's parent sentinel (a pipe that
   becomes readable when the parent exits) or, where there is none, polls ``os.getppid()``; then
   ``os._exit``. It also covers the race where the parent died before the ``prctl`` call.

The Ray engine does not need this module: Ray kills a job's actors when its driver exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import os
import signal
import sys
import threading

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
ORPHAN_EXIT_CODE = 75  # what a worker exits with when it finds itself orphaned (EX_TEMPFAIL)
POLL_SECONDS = 1.0


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the Linux kernel to send ``sig`` to this process when its parent dies.

    Returns False where ``prctl`` is unavailable (not Linux); the watchdog covers those.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
            return False
    except (OSError, AttributeError) as exc:  # no libc or no prctl symbol
        log.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
        return False
    return True


def _watch(parent_pid: int, sentinel: int | None) -> None:
    if sentinel is not None:
        from multiprocessing.connection import wait

        try:
            wait([sentinel])  # readable (EOF) once the parent process is gone
        except OSError:
            pass
    else:
        while os.getppid() == parent_pid:
            threading.Event().wait(POLL_SECONDS)
    os._exit(ORPHAN_EXIT_CODE)


def start_watchdog(parent_pid: int) -> threading.Thread:
    """A daemon thread that ends this process as soon as ``parent_pid`` is no longer its parent."""
    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None) if parent is not None and parent.pid == parent_pid else None
    thread = threading.Thread(target=_watch, args=(parent_pid, sentinel), name="copyloop-parent-watchdog", daemon=True)
    thread.start()
    return thread


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this (worker) process exit when ``parent_pid`` (default: the current parent) dies."""
    parent_pid = os.getppid() if parent_pid is None else parent_pid
    set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(ORPHAN_EXIT_CODE)
    start_watchdog(parent_pid)


__all__ = ["ORPHAN_EXIT_CODE", "die_with_parent", "set_parent_death_signal", "start_watchdog"]
