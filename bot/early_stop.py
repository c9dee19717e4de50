"""A stop (SIGINT, SIGTERM) that comes while the bot starts, before its event loop takes the
signals over (`bot.app.run`).

In Docker the bot is PID 1, and PID 1 has no default action for a signal: one it has no
handler for is dropped. Importing aiogram takes 3 s, and opening the database may wait for
another writer or migrate: a `docker stop` then was lost, and the bot SIGKILLed when the stop
timeout ran out (outside a container it was killed mid-start). Caught from the start, the
stop is remembered, and the start-up ends at its next step with a clean exit.
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Final

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


class EarlyStop:
    """Catches the stop signals from its creation on; `asked` says whether one came."""

    def __init__(self) -> None:
        self.asked = False
        for number in SIGNALS:
            signal.signal(number, self._ask)

    def _ask(self, number: int, frame: FrameType | None) -> None:
        self.asked = True
