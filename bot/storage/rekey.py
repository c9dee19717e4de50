"""Stored name keys made by older rules (`bot.names.KEYS_VERSION`) brought up to date.

Name keys are computed in Python and stored in three places, so a migration (SQL) cannot
recompute them; `upgrade()` runs when `Storage.open()` finds `counters.name_keys` behind
`KEYS_VERSION` (a database from before the counter counts as version 1; one ahead of it, written
by newer code that was rolled back, is refused with a `ConfigError`, as a newer schema is), in
one transaction:

- the search index, when it holds keys of older rules (behind `SEARCH_KEYS_VERSION`): every
  searchable story is queued (`search_index.queue`) and re-indexed by the flush that follows
  in `Storage.open()`, so its `terms` and `search_terms` hold the new keys (a Latin query's key
  must meet the Ukrainian forms stored earlier); when it is behind `COMPOSED_VERSION` only, the
  stories whose stored text `bot.words.fold` now reads otherwise (`_MARKED`) are queued;
- the merge index: the stories that a new report can still join (dated within `bot.merge.WINDOW`
  of now) get the keys `bot.people.person_keys` gives their sources' titles and leads now
  (a source's only where `story_index.add` would take them), added to `stories.names` and
  `story_names`, and the first names those sources give their surnames, added to
  `stories.first_names` (migration 18). Old keys stay: a report stored before migration 11
  kept no lead to recompute them from, and a key no rule makes any more matches nothing;
- watchlists: each watch's identity is `bot.watch.phrase_key` of its phrase, which /unwatch
  recomputes; a watch whose key changed is re-keyed, or dropped when the chat has the same
  watch under the new key already (two spellings that are now one name).
"""

from __future__ import annotations

from functools import partial
from typing import Final

from bot.errors import ConfigError
from bot.merge import WINDOW
from bot.names import KEYS_VERSION, SEARCH_KEYS_VERSION
from bot.people import named_people
from bot.storage import search_index, story_index
from bot.storage.db import Database, SyncTransaction
from bot.watch import phrase_key
from bot.words import composed

COUNTER: Final = "name_keys"
FIRST_VERSION: Final = 1  # databases written before the counter existed
# From this version on, `bot.words.fold` composes decomposed text (NFC) and drops the grave
# stress mark. A search row written before from text that holds a combining mark (decomposed
# й, ё, ї; a stress mark) or a grave-accented ѐ, ѝ has other words ("зуи кова" for Зуйкова):
# those rows alone are written again, which costs a scan of the texts, not hours.
COMPOSED_VERSION: Final = 11
_MARKED: Final = "*[\u0300-\u036f\u0400\u040d\u0450\u045d]*"  # a GLOB pattern


async def upgrade(db: Database, *, now: float) -> bool:
    """Bring stored keys to `KEYS_VERSION`; False when they were up to date."""
    return await db.run(partial(_upgrade, now=now))


def _upgrade(tx: SyncTransaction, *, now: float) -> bool:
    row = tx.fetchone("SELECT value FROM counters WHERE name = ?", (COUNTER,))
    version = FIRST_VERSION if row is None else int(row["value"])
    if version > KEYS_VERSION:
        # Newer code's rules (it was rolled back): stories and watches stored with these older
        # keys now would never be re-keyed when it comes back, splitting their stories.
        raise ConfigError(
            f"DATABASE_PATH: name keys version {version} is newer than this code knows "
            f"({KEYS_VERSION}); run the newer version"
        )
    if version == KEYS_VERSION:
        return False
    if version < SEARCH_KEYS_VERSION:
        stories = [r[0] for r in tx.fetchall("SELECT id FROM stories WHERE broadcast = 1")]
        search_index.queue(tx, stories)
    elif version < COMPOSED_VERSION:
        search_index.queue(tx, _marked_stories(tx))
    _rekey_stories(tx, now - WINDOW)
    _rekey_watchlists(tx)
    tx.execute(
        """INSERT INTO counters (name, value) VALUES (?, ?)
           ON CONFLICT (name) DO UPDATE SET value = excluded.value""",
        (COUNTER, KEYS_VERSION),
    )
    return True


def _marked_stories(tx: SyncTransaction) -> list[int]:
    """The searchable stories whose indexed text (`search_index`: their own, their sources'
    titles, leads and outlets) holds a character `_MARKED` matches."""
    rows = tx.fetchall(
        """SELECT id FROM stories s WHERE broadcast = 1 AND (s.title GLOB ?1 OR s.summary GLOB ?1
               OR EXISTS (SELECT 1 FROM entries e WHERE e.story_id = s.id AND (
                   e.title GLOB ?1 OR e.summary GLOB ?1 OR e.named_outlet GLOB ?1)))""",
        (_MARKED,),
    )
    return [r[0] for r in rows]


def _rekey_stories(tx: SyncTransaction, since: float) -> None:
    rows = tx.fetchall(
        """SELECT s.id, s.names, s.first_names, e.title,
                  COALESCE(e.summary, CASE WHEN e.id = (SELECT MIN(f.id) FROM entries f
                      WHERE f.story_id = s.id) THEN s.summary END, '') AS lead
           FROM stories s JOIN entries e ON e.story_id = s.id
           WHERE COALESCE(s.published_at, s.created_at) >= ? AND e.title IS NOT NULL
           ORDER BY s.id, e.id""",
        (since,),
    )
    names: dict[int, set[str]] = {}
    first_names: dict[int, set[str]] = {}
    current: dict[int, set[str]] = {}  # the new rules' keys of the sources taken so far
    for row in rows:
        keys = names.setdefault(row["id"], set(row["names"].split()))
        firsts = first_names.setdefault(row["id"], set(row["first_names"].split()))
        # Text stored before reading composed it (NFC) may be decomposed: "Зуи\u0306кова".
        found = named_people(composed(row["title"]), composed(row["lead"]))
        taken = current.setdefault(row["id"], set())
        if not taken or story_index.names_join(found.keys, taken):  # as `story_index.add` does
            taken |= found.keys
            keys |= found.keys
            firsts |= found.first_names
    for story_id, keys in names.items():
        tx.execute(
            "UPDATE stories SET names = ?, first_names = ? WHERE id = ?",
            (
                story_index.names_column(frozenset(keys)),
                story_index.names_column(frozenset(first_names[story_id])),
                story_id,
            ),
        )
        tx.executemany(
            "INSERT OR IGNORE INTO story_names (name, story_id) VALUES (?, ?)",
            ((key, story_id) for key in keys),
        )


def _rekey_watchlists(tx: SyncTransaction) -> None:
    rows = tx.fetchall("SELECT chat_id, keys, phrase FROM watchlist ORDER BY created_at")
    for row in rows:
        new = phrase_key(row["phrase"])
        if new is None or new == row["keys"]:
            continue
        taken = tx.fetchone(
            "SELECT 1 FROM watchlist WHERE chat_id = ? AND keys = ?", (row["chat_id"], new)
        )
        if taken is not None:
            tx.execute(
                "DELETE FROM watchlist WHERE chat_id = ? AND keys = ?",
                (row["chat_id"], row["keys"]),
            )
        else:
            tx.execute(
                "UPDATE watchlist SET keys = ? WHERE chat_id = ? AND keys = ?",
                (new, row["chat_id"], row["keys"]),
            )
