"""Feeds and their scheduling state (miniflux-style: the scheduler only ticks, the DB knows
what is due).

A feed is its address: one that feeds.yaml lists under a new name (a rename, or two feeds
swapping addresses, or a name taken from a feed no longer listed) keeps its row and entries
under that name (`_renamed`). A feed whose name went to another that way is unlisted under its
name, a NUL and its id (`_SET_ASIDE`), a name feeds.yaml cannot give (`bot.config`), so it
takes no later listing's row; its reports still cite the name before the NUL
(`records.outlet_name`). A story knows the feed that heads it by id (`head_feed_id`), not by
that name, which two feeds then show: listed again (the old way round, or under a new name),
the set-aside feed heads its own stories and none of the feed that took its name.

A feed is *listed* while feeds.yaml names it (`enabled`), and *disabled* while it has a
`disabled_reason` (410 Gone, or failing for days): a disabled feed is not polled until its
address in feeds.yaml changes. `url` is where the feed is fetched from now; a permanent redirect
moves it, while `source_url` keeps what feeds.yaml says, so a restart does not undo the move.
A feed disabled for moving onto another listed feed's address (`MOVED_ONTO`) is stored at that
address too: a restart resumes it only once no other feed is polled there.

Admin notices are durable and once-only: `told_failing_at` / `told_disabled_at` record that the
admins were told, and `notices_due()` only returns what nobody was told yet.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from bot.config import source_address
from bot.logs import stored_error
from bot.model import FeedSpec
from bot.schedule import JITTER, MAX_BACKOFF, bounds, longest_wait
from bot.storage.db import Database, Row, SyncTransaction, Transaction
from bot.storage.records import FeedState, StoredEntry, outlet_name

_REASON_MAX = 200
_KEYS_PER_QUERY = 500  # well under SQLite's limit of host parameters
# What a feed knows of its address, forgotten when feeds.yaml gives it another: a new address
# starts it afresh (validators, pace, errors, health, a disabling), and re-enables it.
_PER_ADDRESS = (
    "etag", "last_modified", "poll_interval", "disabled_reason", "disabled_at",
    "told_disabled_at", "failing_since", "told_failing_at", "last_error", "last_error_at",
    "last_success_at",
)  # fmt: skip
# The reason a feed is disabled with when it moved onto another listed feed's address, that
# feed's name after it (`bot.refresh` when the move comes second, `sync` when the listing
# does); `bot.feed_health` translates it.
MOVED_ONTO = "moved to the address of "
# The other feeds (`o`) polled at the address of the feed being updated.
_POLLED_THERE = """FROM feeds o WHERE o.url = feeds.url AND o.id != feeds.id
    AND o.enabled = 1 AND o.disabled_reason IS NULL"""
# A feed a 301 moved to where another feed is polled: both would poll it, and the outlet
# would count twice in every story from it. The one feeds.yaml lists there is kept (as when
# the move comes second: `bot.refresh`), else the first of those moved there (two feeds that a
# database of an older version let move to one address).
_STOP_MOVED_ONTO_POLLED = f"""
    UPDATE feeds SET disabled_at = ?, told_disabled_at = NULL,
        disabled_reason = ? || (
            SELECT o.name {_POLLED_THERE} ORDER BY o.url = o.source_url DESC, o.id LIMIT 1)
    WHERE enabled = 1 AND disabled_reason IS NULL AND url != source_url AND EXISTS (
        SELECT 1 {_POLLED_THERE} AND (o.url = o.source_url OR o.id < feeds.id))
"""
# ... and polled again once no other listed feed polls that address (the operator removed
# it, or gave it another): nobody polled it, and the feed stayed stopped for a reason gone.
# Of several stopped there, only the first comes back: all of them would poll it.
_RESUME_MOVED_ONTO_UNLISTED = f"""
    UPDATE feeds SET disabled_reason = NULL, disabled_at = NULL, told_disabled_at = NULL
    WHERE enabled = 1 AND substr(disabled_reason, 1, length(?1)) = ?1
        AND NOT EXISTS (SELECT 1 {_POLLED_THERE})
        AND NOT EXISTS (SELECT 1 FROM feeds o WHERE o.url = feeds.url AND o.id < feeds.id
            AND o.enabled = 1 AND substr(o.disabled_reason, 1, length(?1)) = ?1)
"""
# A feed no longer listed whose name went to another: its name, a NUL and its id, unique and
# never a name feeds.yaml gives (`bot.config` refuses a NUL), so no later listing is matched
# to it by name. The outlet is still the name before the NUL (`records.outlet_name`).
_SET_ASIDE = "UPDATE feeds SET name = name || char(0) || id WHERE id = ?"
_PER_ADDRESS_RESET = (
    ",\n".join(
        f"{column} = CASE WHEN source_url IS excluded.source_url THEN {column} END"
        for column in _PER_ADDRESS
    )
    + ",\n    error_count = CASE WHEN source_url IS excluded.source_url THEN error_count ELSE 0 END"
)


def _renamed(rows: Sequence[Row], specs: Sequence[FeedSpec]) -> dict[int, str]:
    """Stored feed -> its new name, where feeds.yaml lists its address under another name: the
    operator renamed the feed, or swapped two feeds' addresses. The address is what the feed
    is (`bot.config.source_address`): under its new name it keeps its entries, so the next poll
    finds them its own. Matched by name, it was a new feed whose every entry joined its own
    story as another outlet's (the outlet counted twice, an edit to every chat that had the
    alert). Only where the name is free, moves on too, or is held by a feed whose address is
    no longer listed (that one is set aside: `_set_aside`); else the listing goes by name."""
    listed = {source_address(spec.kind, spec.url) for spec in specs}
    by_address: dict[str, int] = {}
    unlisted: set[int] = set()
    for row in rows:
        address = source_address(row["kind"], row["source_url"])
        by_address.setdefault(address, row["id"])
        if address not in listed:
            unlisted.add(row["id"])
    named = {row["name"]: row["id"] for row in rows}
    claims = {
        by_address[address]: spec.name
        for spec in specs
        if (address := source_address(spec.kind, spec.url)) in by_address
        and named.get(spec.name) != by_address[address]
    }
    return {
        row_id: name
        for row_id, name in claims.items()
        if (holder := named.get(name)) is None or holder in claims or holder in unlisted
    }


def _set_aside(rows: Sequence[Row], renamed: dict[int, str]) -> list[int]:
    """The feeds whose name `renamed` gives to another and that take none: no longer listed,
    they keep their rows (and their reports) under `_SET_ASIDE` names."""
    named = {row["name"]: row["id"] for row in rows}
    held = (named.get(name) for name in renamed.values())
    return [row_id for row_id in held if row_id is not None and row_id not in renamed]


# The renames `_rename_outlets` makes: (feed id, the outlet its old name cites, new name).
_MOVES = """WITH m AS (SELECT json_extract(value, '$[0]') AS feed_id,
                             json_extract(value, '$[1]') AS old,
                             json_extract(value, '$[2]') AS new FROM json_each(?1))"""


async def _rename_outlets(tx: Transaction, rows: Sequence[Row], renamed: dict[int, str]) -> None:
    """The stories a renamed feed heads show it by its new name, like their sources: under the
    old one the card cited its own report as another outlet's ("Also reported by" itself,
    `bot.render.also_reported_by`). A story knows its head's feed (`head_feed_id`, migration
    26): by name, a feed set aside and the one that took its name, both cited by it, could
    not be told apart, and the wrong one's new name headed the story. A story stored before
    whose head migration 26 could not tell goes by name, as before: the renamed feed whose
    old name it shows and which reported it, in one statement so that two feeds may trade
    names. Stories keep no index by head, so this scans them: renames are rare. Every story
    the feed reported is queued for its search row, which lists its outlets: a `from:` the
    new name found none of them until a later report touched each."""
    old = {row["id"]: outlet_name(row["name"]) for row in rows}
    moves = json.dumps([[i, old[i], name] for i, name in renamed.items()])
    await tx.execute(
        f"""{_MOVES}
           UPDATE stories SET outlet = (SELECT m.new FROM m WHERE m.feed_id = head_feed_id)
           WHERE head_feed_id IN (SELECT feed_id FROM m)""",
        (moves,),
    )
    await tx.execute(
        f"""{_MOVES}
           UPDATE stories SET outlet = COALESCE((
               SELECT m.new FROM m WHERE m.old = stories.outlet AND EXISTS (
                   SELECT 1 FROM entries e WHERE e.story_id = stories.id AND e.feed_id = m.feed_id)
           ), outlet)
           WHERE head_feed_id IS NULL AND outlet IN (SELECT old FROM m)""",
        (moves,),
    )
    await tx.execute(
        """INSERT INTO search_pending (story_id)
           SELECT DISTINCT story_id FROM entries
           WHERE feed_id IN (SELECT value FROM json_each(?)) AND story_id IS NOT NULL
           ON CONFLICT (story_id) DO UPDATE SET version = version + 1""",
        (json.dumps(list(renamed)),),
    )


class Feeds:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def sync(self, specs: Sequence[FeedSpec], now: float) -> None:
        """Make the table match feeds.yaml: add new feeds (due now), update changed ones,
        unlist the ones no longer listed (their entries stay, so nothing is re-alerted).
        A new address in feeds.yaml starts the feed afresh, which also re-enables it.

        A restart keeps every feed's next check: a wait the server asked for (Retry-After,
        Cache-Control, <ttl>) or an error backoff is not cut short by restarting. Only a
        changed interval (or floor or ceiling) of a feed that is not failing brings its next
        check forward to now + the new interval, so an operator's shorter interval applies
        at once. No next check stays further ahead than any wait may last (`longest_wait`):
        one that does was set while the clock was ahead."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall("SELECT id, name, kind, source_url FROM feeds ORDER BY id")
            renamed = _renamed(rows, specs)
            await tx.executemany(_SET_ASIDE, [(i,) for i in _set_aside(rows, renamed)])
            # Through names no feed has first: two feeds may trade names (a swap).
            await tx.executemany(
                "UPDATE feeds SET name = char(0) || id WHERE id = ?", [(i,) for i in renamed]
            )
            await tx.executemany(
                "UPDATE feeds SET name = ? WHERE id = ?", [(n, i) for i, n in renamed.items()]
            )
            if renamed:
                await _rename_outlets(tx, rows, renamed)
            await tx.execute("UPDATE feeds SET enabled = 0")
            for spec in specs:
                await tx.execute(
                    f"""
                    INSERT INTO feeds (name, url, source_url, kind, lang, interval,
                                       min_interval, max_interval, next_check_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET
                        enabled = 1,
                        kind = excluded.kind,
                        lang = excluded.lang,
                        interval = excluded.interval,
                        min_interval = excluded.min_interval,
                        max_interval = excluded.max_interval,
                        {_PER_ADDRESS_RESET},
                        next_check_at = CASE
                            WHEN source_url IS NOT excluded.source_url THEN ?
                            WHEN error_count = 0
                                 AND NOT (interval IS excluded.interval
                                          AND min_interval IS excluded.min_interval
                                          AND max_interval IS excluded.max_interval)
                            THEN MIN(next_check_at, ? + excluded.interval)
                            -- set by a clock that was ahead: no wait lasts that long
                            ELSE MIN(next_check_at, ? + ?) END,
                        url = CASE WHEN source_url IS excluded.source_url
                              THEN url ELSE excluded.url END,
                        source_url = excluded.source_url
                    """,
                    (
                        spec.name, spec.url, spec.url, spec.kind, spec.lang, spec.interval,
                        spec.min_interval, spec.max_interval, now, now, now, now,
                        longest_wait(bounds(spec.interval, spec.min_interval,
                                            spec.max_interval)[1]),
                    ),
                )  # fmt: skip
            await tx.execute(_STOP_MOVED_ONTO_POLLED, (now, MOVED_ONTO))
            await tx.execute(_RESUME_MOVED_ONTO_UNLISTED, (MOVED_ONTO,))

    async def due(self, now: float) -> list[FeedState]:
        """The feeds to poll now; also one whose next check lies further ahead than any wait
        may last (`longest_wait`, spelled here in SQL): it was set while the clock was ahead,
        and the clock has been set right since (else it waited until a restart)."""
        rows = await self._db.fetchall(
            """SELECT * FROM feeds
               WHERE enabled = 1 AND disabled_reason IS NULL AND (next_check_at <= ?1
                   OR next_check_at > ?1 + ?2 * MAX(
                       COALESCE(max_interval, interval), interval, ?3))
               ORDER BY next_check_at""",
            (now, 1.0 + JITTER, MAX_BACKOFF),
        )
        return [FeedState.from_row(r) for r in rows]

    async def all(self) -> list[FeedState]:
        """The feeds that are polled: listed and not disabled."""
        rows = await self._db.fetchall(
            "SELECT * FROM feeds WHERE enabled = 1 AND disabled_reason IS NULL ORDER BY name"
        )
        return [FeedState.from_row(r) for r in rows]

    async def listed(self) -> list[FeedState]:
        """Every feed feeds.yaml names, disabled ones included (for health views)."""
        rows = await self._db.fetchall("SELECT * FROM feeds WHERE enabled = 1 ORDER BY name")
        return [FeedState.from_row(r) for r in rows]

    async def move(self, feed_id: int, url: str, *, now: float) -> str | None:
        """A permanent redirect moved the feed to `url`: store that, unless another feed is
        polled there. Then the feed is disabled there (`MOVED_ONTO`, `bot.refresh`) and that
        feed's name is returned. Checked and moved in one transaction: feeds are refreshed at
        once, and two moved to one address in the same cycle both found nobody there."""

        def move(tx: SyncTransaction) -> str | None:
            row = tx.fetchone(
                """SELECT name FROM feeds WHERE url = ? AND id != ? AND enabled = 1
                   AND disabled_reason IS NULL LIMIT 1""",
                (url, feed_id),
            )
            if row is None:
                tx.execute("UPDATE feeds SET url = ? WHERE id = ?", (url, feed_id))
                return None
            tx.execute(
                """UPDATE feeds SET url = ?, disabled_reason = ?, disabled_at = ?,
                                    told_disabled_at = NULL
                   WHERE id = ? AND disabled_reason IS NULL""",
                (url, (MOVED_ONTO + row["name"])[:_REASON_MAX], now, feed_id),
            )
            return str(row["name"])

        return await self._db.run(move)

    async def record_success(
        self,
        feed_id: int,
        *,
        now: float,
        next_check_at: float,
        etag: str | None,
        last_modified: str | None,
        poll_interval: float | None = None,
        changed: bool = False,
        ttl: float | None = None,
    ) -> None:
        """A good fetch (a 304 too) ends an error streak; `etag`/`last_modified` are the
        current validators; `changed`: it brought new entries; `ttl`: the feed's <ttl> (None:
        it has none). A move on the way is the refresher's `move()`, before this."""
        await self._db.execute(
            """
            UPDATE feeds SET etag = ?, last_modified = ?, next_check_at = ?, error_count = 0,
                             last_error = NULL, last_success_at = ?, failing_since = NULL,
                             told_failing_at = NULL,
                             poll_interval = COALESCE(?, poll_interval),
                             last_new_at = CASE WHEN ? THEN ? ELSE last_new_at END,
                             ttl = ?
            WHERE id = ?
            """,
            (
                etag, last_modified, next_check_at, now, poll_interval, changed, now, ttl,
                feed_id,
            ),
        )  # fmt: skip

    async def record_error(
        self,
        feed_id: int,
        error: str,
        *,
        now: float,
        next_check_at: float,
        failing_since: float | None = None,
        errors: int | None = None,
    ) -> None:
        """One more error; `failing_since` and `errors` are the streak's start and length
        (`bot.schedule.streak_start`), by default the stored streak continued."""
        await self._db.execute(
            """
            UPDATE feeds SET next_check_at = ?, error_count = COALESCE(?, error_count + 1),
                             last_error = ?, last_error_at = ?,
                             failing_since = COALESCE(?, failing_since, ?)
            WHERE id = ?
            """,
            (
                next_check_at,
                errors,
                stored_error(error),
                now,
                failing_since,
                now,
                feed_id,
            ),
        )

    async def postpone(self, feed_id: int, *, next_check_at: float) -> None:
        """The feed was not polled (its host asked to wait): only its next check moves, and
        what is known of its health stays as it was."""
        await self._db.execute(
            "UPDATE feeds SET next_check_at = ? WHERE id = ?", (next_check_at, feed_id)
        )

    async def disable(self, feed_id: int, reason: str, *, now: float) -> None:
        """Stop polling the feed until its address in feeds.yaml changes."""
        await self._db.execute(
            """UPDATE feeds SET disabled_reason = ?, disabled_at = ?, told_disabled_at = NULL
               WHERE id = ? AND disabled_reason IS NULL""",
            (reason[:_REASON_MAX], now, feed_id),
        )

    async def notices_due(self, now: float, *, failing_for: float) -> list[FeedState]:
        """Listed feeds the admins were not yet told about: disabled ones, and ones failing
        for `failing_for` seconds or more."""
        rows = await self._db.fetchall(
            """SELECT * FROM feeds WHERE enabled = 1 AND (
                   (disabled_reason IS NOT NULL AND told_disabled_at IS NULL)
                   OR (disabled_reason IS NULL AND told_failing_at IS NULL
                       AND failing_since IS NOT NULL AND failing_since <= ?))
               ORDER BY name""",
            (now - failing_for,),
        )
        return [FeedState.from_row(r) for r in rows]

    async def mark_told(self, feeds: Iterable[FeedState], *, now: float) -> None:
        """The admins were told about these feeds' current state (disabled or failing)."""
        async with self._db.transaction() as tx:
            for feed in feeds:
                column = "told_disabled_at" if feed.disabled_reason else "told_failing_at"
                await tx.execute(f"UPDATE feeds SET {column} = ? WHERE id = ?", (now, feed.id))

    async def stored_entries(self, feed_id: int, keys: Sequence[str]) -> dict[str, StoredEntry]:
        """What is stored of each of `keys` this feed has stored already (one row read each:
        its address is in the row whose content hash is read anyway)."""
        stored: dict[str, StoredEntry] = {}
        for start in range(0, len(keys), _KEYS_PER_QUERY):
            chunk = keys[start : start + _KEYS_PER_QUERY]
            marks = ",".join("?" for _ in chunk)
            rows = await self._db.fetchall(
                f"""SELECT entry_key, content_hash,
                           CASE WHEN story_id IS NOT NULL THEN COALESCE(canonical_url, '') END
                    FROM entries WHERE feed_id = ? AND entry_key IN ({marks})""",
                (feed_id, *chunk),
            )
            stored.update((r[0], StoredEntry(r[1], r[2])) for r in rows)
        return stored
