"""The start of a reading worker process (`bot.analysis.PoolAnalysis`), which then runs
`bot.sources.read_source`: feed documents in, parsed feeds out. Kept apart from `bot.analysis`
so that a worker imports only the readers (about 25 MB of memory), not the classifier, the
search forms or their dictionaries.

Everything here runs in the worker, never in the bot's own process; module functions are what
a process pool can call by name.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
import time


def start() -> None:
    """The pool's initializer."""
    # Ctrl-C in a terminal reaches the whole process group: the bot shuts its workers down
    # itself, and a worker dying of it first would only break the pool mid-shutdown.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(parent: int) -> None:
    # A worker whose bot was killed (kill -9, out of memory) would otherwise wait on its queue
    # forever, holding its memory, and one more would be left behind at every such restart.
    multiprocessing.connection.wait([parent])
    os._exit(0)


def pid_after(pause: float) -> int:
    time.sleep(pause)
    return os.getpid()
