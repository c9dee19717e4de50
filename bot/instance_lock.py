"""One running bot per database.

A second `python -m bot run` on the same DATABASE_PATH (started by mistake: a second container,
a forgotten terminal) would take the first one's deliveries in flight for a crash's leftovers,
release them at its start-up and send them again, and both would send from then on. So `run`
holds an exclusive lock on `<database>.lock` for its lifetime, and a second one stops with a
clear line. The lock is the kernel's (`flock`): it goes with the process, however the process
ends, so a crash never leaves a stale lock behind. The file holds nothing.

The other commands (`status`, `search`, `feeds`, `poll --once`) do not take it: they read, or
(`poll --once`) write through transactions without sending anything.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import ConfigError


@contextmanager
def only_instance(database: Path) -> Iterator[None]:
    """Hold the database's instance lock; `ConfigError` when another bot holds it."""
    if str(database) == ":memory:":
        yield
        return
    try:
        # By the file's real name: through a symlink, a relative path or `..` it is the same
        # database, and a lock named after the spelling would let a second bot run on it.
        real = database.resolve()
        lock = real.with_name(real.name + ".lock")
        lock.parent.mkdir(parents=True, exist_ok=True)
        handle = lock.open("a")  # never truncates: the file is only a handle to lock
    except OSError as exc:
        why = exc.strerror
        raise ConfigError(f"DATABASE_PATH {database}: cannot open its lock ({why})") from None
    except RuntimeError:  # a symlink loop, before Python 3.13
        raise ConfigError(f"DATABASE_PATH {database}: a symlink loop") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"DATABASE_PATH {database}: another bot is running on this database"
            ) from None
        yield
