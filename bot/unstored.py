"""Feeds whose outcome the database refused to store (a full disk, a read-only file), held in
memory by `bot.refresh`.

Nothing stored, such a feed stays due, and every tick fetched it again (a feed polled every
8 s was fetched 16 times in 20 s). Held, it waits the backoff step its next error would earn
(`bot.schedule.backoff`), a step more for each unstored outcome in a row; an outcome stored
again ends the hold. Its stored error streak is left as it was: the database failed, not the
feed. A restart forgets the holds and polls each due feed once, as it would anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.schedule import backoff
from bot.storage import FeedState


class Unstored:
    def __init__(self) -> None:
        self._held: dict[int, tuple[int, float]] = {}  # by feed id: (in a row, until when)

    def waiting(self, feed_id: int, now: float) -> bool:
        return self._held.get(feed_id, (0, now))[1] > now

    def hold(self, feed: FeedState, now: float, jittered: Callable[[float], float]) -> None:
        times = self._held.get(feed.id, (0, now))[0] + 1
        delay = backoff(max(feed.interval, feed.current_interval), feed.error_count + times)
        self._held[feed.id] = (times, now + jittered(delay))

    def stored(self, feed_id: int) -> None:
        self._held.pop(feed_id, None)
