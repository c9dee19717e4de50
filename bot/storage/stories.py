"""Entries and stories: the one transaction that stores a fetch and queues its alerts.

`save()` is where "only what is new" is decided, by the database: an entry key already stored
for the feed is not new (an edit updates it, and the headline of the story it heads; a
story's report at a new address with the same text, a slug changed alone, moves it), unless
it was stored without a story and its edit is relevant or names a watched person ("details
later", then the details): then it is handled as a new entry, in its existing row; a key
reused for another item is handed over to it (`bot.storage.edits`: edits, and keys reused).
A canonical URL already stored through another feed joins that story as one more source
(unless the story names people of whom the report names none: a live page, not an article);
so does a report that `bot.merge` matches to a story found through the merge index
(`story_index`: same text, or the same people, action and country across outlets and
languages); a verbatim copy of one of its sources (an aggregator's re-post: the same signature,
no new name) joins it too, but adds nothing to the merge index.
A report word for word that of a stored source (its `content_hash`, of a text long enough to
fingerprint) joins that source's story first, whatever its date: the outlet re-posting it, or an
aggregator's copy, past the merge window too, is that report again and not news.
Anything else that is relevant becomes a story, and its alert deliveries are queued in the same
transaction, one per subscribed chat whose country filter matches, unique per (chat, story).
A chat's filter is matched against the report's own countries, so a story's `report_countries`
gather those of each relevant report of it (its `countries` are its head's): the sender checks
the filter again against them when the alert goes (`bot.delivery_calls`). A fresh, relevant
edit of a story's report, or another report of an outlet it has, that adds a country to it is
news, as another outlet's report is, to the chats whose filter matches and that do not have the
story (a publisher corrects Kazakhstan to Kyrgyzstan); the chats that have it get nothing: no
second alert, and no edit (its outlets are the same). One that adds no country (a typo fixed)
is news to nobody but the chats watching a name it names. An edit is news only while its story
is: a feed re-dates an edited item as it likes.

When a story gains an outlet, every chat that has (or is about to get) its alert and still
wants alerts (active, and subscribed or watching something) gets an 'edit' delivery, unique
per (chat, story, kind): re-armed to pending when yet more outlets report it, so the alert is
edited in place to list them, never sent twice.

Watchlists (`Incoming.watchers`, matched by `bot.watch` before saving): an entry that mentions a
chat's watched name is alerted to that chat even when it is not relevant, and so is a story
that a later outlet's report about a watched person joins. Such a story is stored
with `broadcast = 0`: it is not searchable, not in /recent, not shown by /story and not sent to
anyone else, unless a relevant source of it turns up later (or an edit makes its report one):
that report then heads it (`story_rows.publish`).

A chat in a digest mode gets a 'digest' delivery due at its next digest time instead of an
'alert' due now (`bot.chat_settings`); the sender turns the due ones into one message. Every
change to a story or its sources queues it for its search row (`search_index.queue`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

from bot.merge import choose
from bot.storage import edits, search_index, story_index, story_rows
from bot.storage.alert_queue import fresh_news, queue_alerts, queue_edits, recent_story
from bot.storage.db import Database, Row, SyncTransaction
from bot.storage.records import FeedState, Incoming, ReportText, Source, Story, outlet_name

TEXTS_MAX = 100  # reports per story that `texts_of` reads
# A story's outlets are the names its reports are cited by: the feed's, or the outlet an item
# names as its own (an aggregator's: `records.outlet_and_via`). One outlet through two feeds
# (Meduza's article found by two Google News searches, or by its own feed named "Meduza") is
# one source; `_outlet_in_story` tells a new one on the save path by the same rule.
# A feed set aside (`bot.storage.feeds`) is cited by its name before the NUL, as the feed
# that took its name is.
_CITED = """COALESCE(e.named_outlet, CASE WHEN instr(f.name, char(0)) > 0
                THEN substr(f.name, 1, instr(f.name, char(0)) - 1) ELSE f.name END)"""
STORY_COLUMNS = f"""
    s.id, s.number, s.title, s.summary, s.link, s.outlet, s.named_outlet, s.countries, s.action,
    s.reasons, s.broadcast, s.report_countries,
    s.published_at, s.created_at AS seen_at,
    (SELECT COUNT(DISTINCT {_CITED}) FROM entries e
     JOIN feeds f ON f.id = e.feed_id WHERE e.story_id = s.id) AS sources,
    (SELECT group_concat(o.cited, char(31)) FROM
        (SELECT {_CITED} AS cited FROM entries e
         JOIN feeds f ON f.id = e.feed_id
         WHERE e.story_id = s.id GROUP BY cited ORDER BY MIN(e.id)) o) AS outlets
"""


@dataclass(frozen=True, slots=True)
class SaveResult:
    """What one `save()` did: the new stories, and which of them were queued as alerts."""

    new_stories: tuple[Story, ...]
    alerted: frozenset[int]
    deliveries: int  # alerts and edits queued
    seen: int
    joined: int = 0  # entries that joined an existing story as a new outlet


class Stories:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(
        self, feed: FeedState, items: Sequence[Incoming], *, now: float, alert_max_age: float
    ) -> SaveResult:
        """Store a fetch's entries in one transaction, run as one call on the database's
        thread (a fetch is hundreds of statements; one thread hop each was most of the cost)."""
        return await self._db.run(partial(_save, feed, items, now=now, alert_max_age=alert_max_age))

    async def get(self, number: int) -> Story | None:
        """A public story by its number (/story <number>); a watch-only story has none."""
        row = await self._db.fetchone(
            f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.number = ? AND s.broadcast = 1",
            (number,),
        )
        return None if row is None else Story.from_row(row)

    async def recent(self, limit: int) -> list[Story]:
        rows = await self._db.fetchall(
            f"""SELECT {STORY_COLUMNS} FROM stories s WHERE s.broadcast = 1
                ORDER BY COALESCE(s.published_at, s.created_at) DESC, s.id DESC LIMIT ?""",
            (limit,),
        )
        return [Story.from_row(r) for r in rows]

    async def sources(self, story_id: int) -> list[Source]:
        """Every report of the story, the earliest first."""
        return (await self.sources_of([story_id])).get(story_id, [])

    async def sources_of(self, story_ids: Sequence[int]) -> dict[int, list[Source]]:
        """Every report of each story, the earliest first (undated ones by when they were
        seen), for citing: the alert's "also reported by", `/story`, the CSV export. An
        outlet's reports at one address are cited once, as the earliest: the items of a feed
        that links them all to one live page are keyed by their text, so an edit of one is
        another entry of its story, and one article that two Google News searches found came
        through two feeds; a list naming the outlet and page twice only looks like two
        reports."""
        if not story_ids:
            return {}
        marks = ",".join("?" for _ in story_ids)
        rows = await self._db.fetchall(
            f"""SELECT e.story_id, e.feed_id, e.canonical_url, f.name AS outlet, e.named_outlet,
                       e.title, e.link, e.lang, e.published_at, e.seen_at
                FROM entries e JOIN feeds f ON f.id = e.feed_id
                WHERE e.story_id IN ({marks})
                ORDER BY e.story_id, COALESCE(e.published_at, e.seen_at), e.id""",
            list(story_ids),
        )
        found: dict[int, list[Source]] = {}
        cited: set[tuple[int, str, str]] = set()
        for row in rows:
            cited_as = row["named_outlet"] or outlet_name(row["outlet"])
            page = (row["story_id"], cited_as, row["canonical_url"])
            if page[2] is not None:
                if page in cited:
                    continue
                cited.add(page)
            found.setdefault(row["story_id"], []).append(Source.from_row(row))
        return found

    async def texts_of(self, story_ids: Sequence[int]) -> dict[int, list[ReportText]]:
        """What each story said, for matching a chat's watchlist again when its alert is drawn:
        first its own title and lead in its first report's language (as judging read them when
        that report was stored), then what its newest `TEXTS_MAX` distinct other reports said,
        newest first (a report that named a watched name is a recent one by then)."""
        found: dict[int, list[ReportText]] = {}
        for story_id in dict.fromkeys(story_ids):
            own = await self._db.fetchone(
                """SELECT title, summary AS lead,
                          (SELECT lang FROM entries WHERE story_id = s.id AND title IS NOT NULL
                           ORDER BY id LIMIT 1) AS lang
                   FROM stories s WHERE id = ?""",
                (story_id,),
            )
            if own is None:
                continue
            first = ReportText(own["title"], own["lead"], own["lang"])
            rows = await self._db.fetchall(
                """SELECT title, COALESCE(summary, '') AS lead, lang FROM entries
                   WHERE story_id = ? AND title IS NOT NULL
                   GROUP BY title, lead, lang ORDER BY MAX(id) DESC LIMIT ?""",
                (story_id, TEXTS_MAX),
            )
            # The first report's row keeps its title only (its lead is the story's, above).
            reports = (ReportText(r["title"], r["lead"], r["lang"]) for r in rows)
            found[story_id] = [
                first,
                *(r for r in reports if r != first and (r.title, r.lead) != (first.title, "")),
            ]
        return found


def _save(
    feed: FeedState,
    items: Sequence[Incoming],
    tx: SyncTransaction,
    *,
    now: float,
    alert_max_age: float,
) -> SaveResult:
    new_ids: list[int] = []
    alerted: set[int] = set()
    queued = joined = 0
    touched: set[int] = set()  # stories whose search row must be re-written (once each)
    for item in _present_watchers(tx, items):
        alertable = fresh_news(item, feed, now, alert_max_age)
        stored = _store_entry(tx, feed, item, now, touched, alertable=alertable)
        if stored is None:
            continue
        story_id, how = stored
        if how == "published":
            # Its watchers' alerts showed the old headline: they are edited to the news.
            queued += queue_edits(tx, story_id, now)
        elif how != "new":
            if how == "joined":
                joined += 1
                queued += queue_edits(tx, story_id, now)
            # A fresh report from another outlet is news to the chats that do not have the
            # story yet: it was first stored from a feed's backlog (never pushed), or their
            # filter matches only this report's countries. So is any report or edit that adds
            # a country to the story (a publisher corrects it, the outlet's own feed says more
            # than its Google News item did), and a report (or an edit) that names someone a
            # chat watches, though the story's first report did not. Each chat is told once per
            # story, like every alert; a typo fixed tells nobody.
            subscribers = item.verdict.relevant and how in ("joined", "widened", "corrected")
            if how in ("corrected", "edited"):
                # A feed re-dates an edited item as it likes: the story's date says if it is news.
                alertable = alertable and recent_story(tx, story_id, now, alert_max_age)
            if (subscribers or item.watchers) and alertable:
                queued += queue_alerts(tx, story_id, item, now, subscribers=subscribers)
            continue
        new_ids.append(story_id)
        if alertable:
            queued += queue_alerts(tx, story_id, item, now)
            alerted.add(story_id)
    search_index.queue(tx, sorted(touched))
    rows = _stories_by_id(tx, new_ids)
    return SaveResult(tuple(rows), frozenset(alerted), queued, len(items), joined)


def _present_watchers(tx: SyncTransaction, items: Sequence[Incoming]) -> Sequence[Incoming]:
    """The items, each watched only by chats still here (active). The watchlists were read
    when the refresh cycle began; a chat that said /forget or blocked the bot since would get
    a watch-only story kept for nobody, whose text tells what it watched, and that no later
    /forget finds (no delivery ties it to the chat)."""
    asked = set().union(*(item.watchers for item in items))
    if not asked:
        return items
    rows = tx.fetchall(
        """SELECT chat_id FROM chats
           WHERE active = 1 AND chat_id IN (SELECT value FROM json_each(?))""",
        (json.dumps(sorted(asked)),),
    )
    present = {row[0] for row in rows}
    if present >= asked:
        return items
    return [replace(item, watchers=item.watchers & present) for item in items]


# "joined": another outlet's report; "widened": a report of an outlet the story has, adding a
# country to it; "corrected": an edit adding one; "repeated"/"edited": a report or an edit
# adding none, told to its watchers only.
How = Literal["new", "published", "joined", "widened", "corrected", "repeated", "edited"]


def _store_entry(
    tx: SyncTransaction,
    feed: FeedState,
    item: Incoming,
    now: float,
    touched: set[int],
    *,
    alertable: bool,
) -> tuple[int, How] | None:
    """Store one entry. Returns (story id, "new") for a new story, (story id, "published") for
    a watch-only story that a relevant report or edit made public, (story id, "joined") when
    the entry brought an existing story a new outlet, (story id, "widened" or "corrected") for
    a report of an outlet it has or an edit that adds a country to it, (story id, "repeated" or
    "edited") for one that adds none but names a watched person, None when nothing is new.
    An edit of an entry that had no story and is now relevant or watched counts as a new entry
    (in its old row)."""
    old = edits.stored(tx, feed.id, item)
    if old is not None and edits.blank(item):
        return None
    if old is not None and old["content_hash"] == item.content_hash:
        if edits.moved(old, item.canonical_url):
            edits.move(tx, old, item)
        return None
    if old is not None and (
        old["story_id"] is not None or not (item.verdict.relevant or item.watchers)
    ):
        return _store_edit(tx, feed, item, old, now=now, touched=touched)
    # A "details later" item that its edit made relevant (or watched) is news now: it goes the
    # way of a new entry, into its existing row.
    copy = False  # a verbatim copy of a source the merge index already has
    joined = story_index.story_of_url(tx, item, feed.id)
    if joined is None:
        joined, copy = _matching_story(tx, item, now)
    story_id = joined
    made_public = False
    # A watch-only story exists to alert its watchers: one from a backlog alerts nobody, and
    # kept anyway it would outlive /forget (no delivery ties it to the chat that watched).
    if story_id is None and (item.verdict.relevant or (item.watchers and alertable)):
        story_id = story_rows.insert_story(tx, feed, item, now)
    elif story_id is not None and item.verdict.relevant:
        made_public = story_rows.publish(tx, story_id, feed, item, now)
    new_outlet = joined is not None and not _outlet_in_story(tx, feed, item, joined)
    widened = False
    if joined is not None and item.verdict.relevant:
        widened = story_rows.add_report_countries(tx, joined, item.verdict.countries)
    if story_id is not None and item.fingerprint is not None and not copy:
        story_index.add(tx, story_id, item.fingerprint, new_story=joined is None)
    entry_id = None if old is None else int(old["id"])
    story_rows.write_entry(
        tx, feed, item, entry_id, story_id, joined=joined is not None, copy=copy, now=now
    )
    if story_id is None:
        return None
    touched.add(story_id)  # a new story or a new source: both are searchable
    if joined is None or made_public:
        return story_id, "published" if made_public else "new"
    how: How | None = (
        "joined" if new_outlet else "widened" if widened else "repeated" if item.watchers else None
    )
    return None if how is None else (story_id, how)


def _store_edit(
    tx: SyncTransaction, feed: FeedState, item: Incoming, old: Row, *, now: float, touched: set[int]
) -> tuple[int, How] | None:
    """An edit of a stored entry (`_store_entry`)."""
    edits.apply(tx, old, item, touched)
    story_id: int | None = old["story_id"]
    if story_id is None:
        return None
    relevant = item.verdict.relevant
    widened = relevant and story_rows.add_report_countries(tx, story_id, item.verdict.countries)
    # An edit that makes a watch-only story's report relevant publishes the story.
    if relevant and story_rows.publish(tx, story_id, feed, item, now):
        return story_id, "published"
    if widened:
        return story_id, "corrected"
    return (story_id, "edited") if item.watchers else None


def _matching_story(tx: SyncTransaction, item: Incoming, now: float) -> tuple[int | None, bool]:
    """A stored story this report is another account of (see `bot.merge`), if any, and
    whether the report is a verbatim copy of one of its sources (an aggregator's re-post):
    the same signature and no name the story lacks, so it adds nothing to the merge index."""
    fingerprint = item.fingerprint
    if fingerprint is None:
        return None, False
    story = story_index.same_text(tx, item.content_hash) if fingerprint.signature else None
    if story is None:
        when = story_rows.timestamp(item) or now
        found = story_index.candidates(tx, fingerprint, when)
        match = choose(story_index.report_features(item, when), fingerprint.signature, found)
        if match is None:
            return None, False
        story = next(c for c in found if c.story_id == match.story_id)
    known = story.features
    copy = (
        fingerprint.signature in story.signatures
        and fingerprint.names <= known.names
        and fingerprint.first_names <= known.first_names
    )
    return story.story_id, copy


def _outlet_in_story(tx: SyncTransaction, feed: FeedState, item: Incoming, story_id: int) -> bool:
    """Whether the story has a report of the outlet `item` is cited by (`STORY_COLUMNS`): of
    the outlet it names, else of its feed, through this feed or another (one set aside under
    the name: "name\0id", a range of the names' index)."""
    name = item.entry.named_outlet or feed.name
    row = tx.fetchone(
        """SELECT 1 FROM entries WHERE story_id = ?1 AND named_outlet = ?2
           UNION ALL
           SELECT 1 FROM entries WHERE story_id = ?1 AND named_outlet IS NULL AND feed_id IN (
               SELECT id FROM feeds WHERE name = ?2
               UNION ALL SELECT id FROM feeds WHERE name BETWEEN ?2 || char(0)
                                                        AND ?2 || char(0, 1114111))
           LIMIT 1""",
        (story_id, name),
    )
    return row is not None


def _stories_by_id(tx: SyncTransaction, ids: Sequence[int]) -> list[Story]:
    if not ids:
        return []
    marks = ",".join("?" for _ in ids)
    rows = tx.fetchall(
        f"SELECT {STORY_COLUMNS} FROM stories s WHERE s.id IN ({marks}) ORDER BY s.id",
        ids,
    )
    return [Story.from_row(r) for r in rows]
