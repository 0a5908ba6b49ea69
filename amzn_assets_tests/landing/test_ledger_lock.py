"""Ledger.exclusive on a SQLite ledger (a filelock.FileLock on <ledger lock>[.apply]): two Ledger
objects, two threads and two processes exclude each other; "landing" and "apply" are separate locks."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from amzn_assets.landing.ledger import open_ledger

HOLD_S = 0.6


def test_two_ledgers_in_two_threads_exclude_each_other(dirs):
    first, second = open_ledger(dirs), open_ledger(dirs)
    held = threading.Event()
    events: list[str] = []

    def hold() -> None:
        with first.exclusive():
            events.append("first in")
            held.set()
            time.sleep(HOLD_S)
            events.append("first out")

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(60)
    with second.exclusive():
        events.append("second in")
    thread.join()
    assert events == ["first in", "first out", "second in"]


def test_a_second_hold_in_the_same_thread_raises_instead_of_hanging(dirs):
    first, second = open_ledger(dirs), open_ledger(dirs)
    with first.exclusive(), second.exclusive("apply"):  # separate lock files: no wait
        with pytest.raises(RuntimeError, match="Deadlock"):
            with second.exclusive():
                pass
    with second.exclusive():  # released on the way out
        pass


def test_two_processes_exclude_each_other(dirs):
    # The child holds the apply lock until its stdin closes: no timing decides the outcome.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from amzn_assets.landing.ledger import open_ledger\n"
        "from amzn_assets.data_dirs import DataDirs\n"
        "with open_ledger(DataDirs(Path(sys.argv[1]))).exclusive('apply'):\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.read()\n"
    )
    ledger = open_ledger(dirs)
    child = subprocess.Popen([sys.executable, "-c", script, str(dirs.root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    taken = threading.Event()

    def take_apply_lock() -> None:
        with ledger.exclusive("apply"):
            taken.set()

    try:
        assert child.stdout.readline().strip() == "held"
        with ledger.exclusive():  # the landing lock is not the apply lock
            pass
        waiter = threading.Thread(target=take_apply_lock)
        waiter.start()
        assert not taken.wait(HOLD_S), "took the apply lock while the child held it"
        child.stdin.close()
        assert taken.wait(60), "the apply lock was not taken after the child let it go"
        waiter.join()
    finally:
        child.wait(10)
    assert child.returncode == 0
    assert dirs.ledger_lock.exists() and dirs.ledger_lock.with_name(dirs.ledger_lock.name + ".apply").exists()
