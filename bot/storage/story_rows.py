"""The rows one stored report writes (`bot.storage.stories` decides which): its entry, a new
story headed by it, or a watch-only story it makes public and heads; and the headline of the
story it heads when its publisher edits it (`bot.storage.edits`)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.storage import story_index
from bot.storage.db import SyncTransaction
from bot.storage.records import FeedState, Incoming

# A public story's number (migration 14): one past the last given, so public stories are
# numbered without gaps whatever the watch-only stories between them.
_NEXT_NUMBER = "(SELECT COALESCE(MAX(number), 0) + 1 FROM stories)"


def write_entry(
    tx: SyncTransaction,
    feed: FeedState,
    item: Incoming,
    entry_id: int | None,
    story_id: int | None,
    *,
    joined: bool,
    copy: bool,
    now: float,
) -> None:
    """The entry's row: a new one, or its old row (`entry_id`) rewritten. Only an entry with a
    story keeps its text (a source to cite); `joined`: of a story that was there before it."""
    tx.execute(
        """
        INSERT INTO entries (id, feed_id, entry_key, canonical_url, content_hash, story_id,
                             title, summary, link, lang, published_at, seen_at, minhash,
                             named_outlet)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            canonical_url = excluded.canonical_url, content_hash = excluded.content_hash,
            story_id = excluded.story_id, title = excluded.title, summary = excluded.summary,
            link = excluded.link, lang = excluded.lang, published_at = excluded.published_at,
            minhash = excluded.minhash, named_outlet = excluded.named_outlet
        """,
        (
            entry_id,  # None: a new row; an edited entry keeps its row and when it was seen
            feed.id,
            item.key,
            item.canonical_url,
            item.content_hash,
            story_id,
            item.entry.title if story_id is not None else None,
            item.entry.summary if joined else None,  # a new story has it already
            item.entry.link if story_id is not None else None,
            item.entry.lang or feed.lang,
            timestamp(item),
            now,
            # A copy's signature is one the story has: merging would only compare it twice.
            None if story_id is None or copy or not item.fingerprint else item.fingerprint.pack(),
            item.entry.named_outlet if story_id is not None else None,
        ),
    )


def publish(
    tx: SyncTransaction, story_id: int, feed: FeedState, item: Incoming, now: float
) -> bool:
    """Turn a watch-only story into an ordinary one with the next number, headed by `item`, the
    relevant report that made it news; False if it was public already. Its watched, off-topic
    first report would make a poor alert, and as the public headline it would show that
    someone watches a name in it; it stays one of the sources. The caller re-indexes the story
    (now searchable)."""
    # Most reports that join a story join a public one: one indexed read, not two updates.
    public = tx.fetchone("SELECT broadcast FROM stories WHERE id = ?", (story_id,))
    if public is None or public[0]:
        return False
    # The first report's lead is the story's (its row keeps none, `write_entry`): it goes to
    # that row before the new headline replaces it. A watcher's alert, matched again against
    # the story's reports when it is drawn (`Stories.texts_of`), found the name it watched
    # nowhere any more and was dropped.
    tx.execute(
        """UPDATE entries SET summary = (SELECT summary FROM stories WHERE id = ?1)
           WHERE id = (SELECT MIN(id) FROM entries WHERE story_id = ?1) AND summary IS NULL""",
        (story_id,),
    )
    heading = ", ".join(f"{column} = ?" for column in _HEADLINE)
    changed = tx.execute(
        f"""UPDATE stories SET broadcast = 1, number = {_NEXT_NUMBER}, created_at = ?, {heading}
            WHERE id = ? AND broadcast = 0""",
        (now, *_headline(feed, item), story_id),
    )
    return changed > 0


def insert_story(tx: SyncTransaction, feed: FeedState, item: Incoming, now: float) -> int:
    """A new story headed by `item`: public (with the next number) when it is relevant, else
    kept for the watchlists it names."""
    public = int(item.verdict.relevant)
    people = story_index.people_of(item)
    marks = ", ".join("?" for _ in _HEADLINE)
    reported = _countries_column(item.verdict.countries) if public else ""
    return tx.insert(
        f"""
        INSERT INTO stories (created_at, {", ".join(_HEADLINE)}, broadcast, names, first_names,
                             number, report_countries)
        VALUES (?, {marks}, ?, ?, ?, CASE WHEN ? THEN {_NEXT_NUMBER} END, ?)
        """,
        (
            now, *_headline(feed, item), public, story_index.names_column(people.keys),
            story_index.names_column(people.first_names), public, reported,
        ),
    )  # fmt: skip


def edit_headline(tx: SyncTransaction, story_id: int, item: Incoming) -> None:
    """The report that heads the story was edited (`bot.storage.edits`): the story shows its
    new title, lead and link, and a relevant edit's verdict too (a country or action the
    publisher corrected is what the card shows and what country: and action: find). An edit
    judged no longer relevant has no tags to give: the story keeps those that made it news.
    Its date and feed stay the head's: a feed re-dates an edited item as it likes. The outlet
    it names is the edit's: one stored before it was read gets it so (migration 24). A title
    emptied is none given: the story keeps its own (`bot.storage.edits`)."""
    entry = item.entry
    tx.execute(
        """UPDATE stories SET title = COALESCE(NULLIF(?, ''), title), summary = ?,
               link = COALESCE(?, link), named_outlet = ?
           WHERE id = ?""",
        (entry.title, entry.summary, entry.link, entry.named_outlet, story_id),
    )
    if item.verdict.relevant:
        tx.execute(
            "UPDATE stories SET countries = ?, action = ?, score = ?, reasons = ? WHERE id = ?",
            (*_tags(item), story_id),
        )


def add_report_countries(tx: SyncTransaction, story_id: int, countries: Sequence[str]) -> bool:
    """A relevant report of the story (one that joined it, or an edit) names `countries`: the
    story's `report_countries` (migration 16) take them in; unknown (NULL) stays unknown. They
    only grow: a chat that a report brought the story to keeps it whatever later reports say.
    True when one was added: chats following it may not have the story yet."""
    row = tx.fetchone("SELECT report_countries FROM stories WHERE id = ?", (story_id,))
    if row is None or row[0] is None:
        return False
    known = row[0].split()
    added = [c for c in countries if c not in known]
    if added:
        tx.execute(
            "UPDATE stories SET report_countries = ? WHERE id = ?",
            (_countries_column([*known, *added]), story_id),
        )
    return bool(added)


# What a story shows of the report that heads it: a new story's first report, or the report
# that made a watch-only story news (`publish`). In the order `_headline` gives them. The
# feed it came through is kept by its id too (migration 26): a feed set aside shows the name
# of the feed that took it (`bot.storage.feeds`), so renames and edits go by the id.
_HEADLINE = (
    "published_at", "title", "summary", "link", "outlet", "head_feed_id", "named_outlet",
    "countries", "action", "score", "reasons",
)  # fmt: skip


def _headline(feed: FeedState, item: Incoming) -> tuple[object, ...]:
    entry = item.entry
    return (
        timestamp(item), entry.title, entry.summary, entry.link, feed.name, feed.id,
        entry.named_outlet, *_tags(item),
    )  # fmt: skip


def _tags(item: Incoming) -> tuple[object, ...]:
    """countries, action, score, reasons: what the story shows of its head's verdict."""
    verdict = item.verdict
    reasons = json.dumps(list(verdict.reasons), ensure_ascii=False)
    return _countries_column(verdict.countries), verdict.action, verdict.score, reasons


def _countries_column(countries: Sequence[str]) -> str:
    return f" {' '.join(countries)} " if countries else ""


def timestamp(item: Incoming) -> float | None:
    published = item.entry.published
    return None if published is None else published.timestamp()
