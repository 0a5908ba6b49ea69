"""Whether the process that runs a stream job still lives: a run's worker is host:pid:start time,
and the start time tells a reused pid apart (psutil reads it from /proc on Linux)."""

from __future__ import annotations

import os
import socket

import psutil


def worker_id(pid: int | None = None) -> str:
    """host:pid:start time of a process."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def worker_is_gone(worker: str | None) -> bool:
    """True when the tagged run worker was a process of this host that no longer runs."""
    if not worker or worker.count(":") < 2:
        return False
    host, pid, started = worker.rsplit(":", 2)
    if host != socket.gethostname():
        return False  # another machine's process: not ours to judge
    return _start_time(int(pid)) != started


def started_before(pid: int, timestamp: float) -> bool:
    """Whether the process with this pid runs and started before the time given (else the pid was reused)."""
    started = _start_time(pid)
    return bool(started) and float(started) <= timestamp + 1


def _start_time(pid: int) -> str:
    """The process's start time (seconds since the epoch, as psutil gives it), or "" if gone. A
    zombie is gone: a worker killed with its daemon is reparented, and an init that does not reap
    (as in some containers) keeps it a zombie forever, with its start time still readable."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return ""
        return f"{process.create_time():.2f}"
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return ""
