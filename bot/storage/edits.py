"""An entry seen again under its key with other text: an edit of it, or another item.

Publishers edit items in place (same GUID, new title or lead, sometimes a new address when the
slug follows the title), and some reuse a GUID for another item (a counter that restarts, a
recycled slot). `stored()` tells the two apart before `bot.storage.stories` stores the entry: a
key whose item has a story, now with another address and a text that is no longer about that
story (as `bot.merge` judges another outlet's report), is handed over. The old item keeps its
row and story under a retired key (`RETIRED`, never the form of an entry key), and the new item
is a new entry, or gets back its own row if the feed showed it earlier under a key it gave up
(a feed that flips between two items by turns). An unknown key whose link and text the feed
stored under another key is that entry, re-keyed (a GUID moved to https). `apply()` makes an
edit: the entry's row takes the new text, and the story the report heads (its first, or the
one that made it public) shows it as its headline, whatever other outlets joined it. A report
of a story whose address alone changed (`moved`: the content hash is its title and lead) takes
the new address, and so does the story it heads (`move`). An item seen again with no text at
all (`blank`: a CMS glitch) is neither an edit, nor another item, nor a move: what its entry
said stands. Nor does an edit that empties the title alone empty the headline: the report and
its story keep the title they had, which names the case, and take the new lead.
"""

from __future__ import annotations

from bot.merge import judge
from bot.storage import story_index, story_rows
from bot.storage.db import Row, SyncTransaction
from bot.storage.records import Incoming, moved_address
from bot.stories import BLANK_CONTENT

RETIRED = "retired:"
_COLUMNS = "id, content_hash, story_id, minhash, canonical_url FROM entries"


def stored(tx: SyncTransaction, feed_id: int, item: Incoming) -> Row | None:
    """The row the feed stored `item` in before, if any."""
    old: Row | None = tx.fetchone(
        f"SELECT {_COLUMNS} WHERE feed_id = ? AND entry_key = ?", (feed_id, item.key)
    )
    if old is None:
        return _under_another_key(tx, feed_id, item)
    if old["content_hash"] == item.content_hash or blank(item):
        return old
    return _hand_over_key(tx, feed_id, old, item) if _another_item(tx, old, item) else old


def blank(item: Incoming) -> bool:
    """Whether `item` has no text (its title only markup, its description empty): seen again
    under a stored key, it is a glitch of the feed's, which says nothing of the item, its
    address included. Taken for an edit, it wiped the story's headline and lead."""
    return item.content_hash == BLANK_CONTENT


def _under_another_key(tx: SyncTransaction, feed_id: int, item: Incoming) -> Row | None:
    """The row of this very item (its address and text) that the feed stored under another
    key, which it now takes: a GUID moved from http to https, a duplicate listing that keyed
    it by its link for a while. Without this it was a new entry: listed twice as its story's
    source, or, undated and polled after the merge window, a new story alerted again."""
    if item.canonical_url is None:
        return None
    row: Row | None = tx.fetchone(
        f"""SELECT {_COLUMNS} WHERE canonical_url = ? AND feed_id = ? AND content_hash = ?
            AND entry_key NOT LIKE '{RETIRED}%' ORDER BY id DESC LIMIT 1""",
        (item.canonical_url, feed_id, item.content_hash),
    )
    if row is not None:
        tx.execute("UPDATE entries SET entry_key = ? WHERE id = ?", (item.key, row["id"]))
    return row


def _another_item(tx: SyncTransaction, old: Row, item: Incoming) -> bool:
    """Whether an entry stored under this key, with a story, and its changed `item` are two
    items: the key (a GUID) was reused. They are when the address changed too and the new text
    is not about the story any more (as `bot.merge` judges another outlet's report); a changed
    address with the same case's text is an article re-titled, its slug following. It is
    judged as of the story's own date: a feed re-dates an edited item as it likes (a week
    later, past the merge window), and under its own key that says nothing of what it is."""
    if old["story_id"] is None or item.fingerprint is None:
        return False  # a stored item without a story keeps no text: an edit of it is news anyway
    if old["canonical_url"] is None or item.canonical_url in (None, old["canonical_url"]):
        return False
    story = story_index.candidate(tx, old["story_id"])
    if story is None:
        return True
    report = story_index.report_features(item, story.features.when)
    return judge(report, item.fingerprint.signature, story) is None


def _hand_over_key(tx: SyncTransaction, feed_id: int, old: Row, item: Incoming) -> Row | None:
    """The old item keeps its row (and story) under a retired key; `item` takes the key: the
    row it had before, if the feed showed it earlier under a key it gave up (a feed that
    flips between two items), else None (a new entry)."""
    tx.execute(
        "UPDATE entries SET entry_key = ? WHERE id = ?",
        (f"{RETIRED}{old['id']}:{item.key}", old["id"]),
    )
    earlier: Row | None = tx.fetchone(
        f"""SELECT {_COLUMNS} WHERE canonical_url = ? AND feed_id = ?
            AND entry_key LIKE '{RETIRED}%' ORDER BY id DESC LIMIT 1""",
        (item.canonical_url, feed_id),
    )
    if earlier is not None:
        tx.execute("UPDATE entries SET entry_key = ? WHERE id = ?", (item.key, earlier["id"]))
    return earlier


def apply(tx: SyncTransaction, old: Row, item: Incoming, touched: set[int]) -> None:
    """An edited entry updates its row and, when it heads its story (`_heads`), the story's
    headline (`story_rows.edit_headline`)."""
    story_id = old["story_id"]
    heads = story_id is not None and _heads(tx, old["id"], story_id)  # before its row changes
    fingerprint = item.fingerprint
    tx.execute(
        """UPDATE entries SET content_hash = ?, canonical_url = COALESCE(?, canonical_url),
               title = CASE WHEN story_id IS NULL THEN NULL ELSE COALESCE(NULLIF(?, ''), title) END,
               summary = CASE WHEN story_id IS NULL THEN NULL ELSE ? END,
               link = CASE WHEN story_id IS NULL THEN NULL ELSE COALESCE(?, link) END,
               minhash = CASE WHEN story_id IS NULL THEN NULL ELSE ? END,
               named_outlet = CASE WHEN story_id IS NULL THEN NULL ELSE ? END
           WHERE id = ?""",
        (
            item.content_hash, item.canonical_url, item.entry.title, item.entry.summary,
            item.entry.link, fingerprint and fingerprint.pack(), item.entry.named_outlet,
            old["id"],
        ),
    )  # fmt: skip
    if story_id is None:
        return
    if old["minhash"] is not None:
        # Its verbatim copies stored no signature (`bot.storage.stories`): one of them takes
        # over the old text's, so a later copy of that text still finds the story by it.
        tx.execute(
            """UPDATE entries SET minhash = ? WHERE id = (
                   SELECT id FROM entries WHERE story_id = ? AND content_hash = ?
                   AND minhash IS NULL ORDER BY id DESC LIMIT 1)""",
            (old["minhash"], story_id, old["content_hash"]),
        )
    if fingerprint is not None:
        story_index.add(tx, story_id, fingerprint)
    if heads:
        story_rows.edit_headline(tx, story_id, item)
    touched.add(story_id)


def moved(old: Row, canonical_url: str | None) -> bool:
    """Whether a report of a story, its text unchanged, is at another address now (a slug
    changed alone): `bot.refresh` lets such an entry through by the same rule."""
    cited = None if old["story_id"] is None else old["canonical_url"] or ""
    return moved_address(cited, canonical_url)


def move(tx: SyncTransaction, old: Row, item: Incoming) -> None:
    """The report (`moved`) and, when it heads its story, the story cite its new address.
    Nothing else changes: its text is the same, and its verdict now may be judged on less of
    it (`bot.fulltext` reads the page of a new entry only). Nobody is told: no news in it."""
    story_id = old["story_id"]
    heads = _heads(tx, old["id"], story_id)  # before its row changes
    link = item.entry.link
    tx.execute(
        "UPDATE entries SET canonical_url = ?, link = COALESCE(?, link) WHERE id = ?",
        (item.canonical_url, link, old["id"]),
    )
    if heads:
        tx.execute("UPDATE stories SET link = COALESCE(?, link) WHERE id = ?", (link, story_id))


def _heads(tx: SyncTransaction, entry_id: int, story_id: int) -> bool:
    """Whether the entry heads its story: its only report, or the one whose feed, address
    and title the story shows (`story_rows` took them from it). Counting reports alone missed
    the head of a story that other outlets joined: its publisher's edit never reached the
    headline and link that /search, /story and the CSV cite. The address alone is not enough:
    a feed that links each of its updates to one live page has several reports there. The
    feed goes by the head's id (migration 26): by name, a feed set aside (`bot.storage.feeds`)
    headed none of its stories and the feed that took its name headed them. A story stored
    before whose head the migration could not tell goes by name still."""
    row = tx.fetchone(
        """SELECT (SELECT COUNT(*) FROM entries WHERE story_id = s.id) = 1
                  OR (COALESCE(s.head_feed_id = e.feed_id, s.outlet = f.name)
                      AND s.link IS e.link AND s.title IS e.title)
           FROM stories s, entries e JOIN feeds f ON f.id = e.feed_id
           WHERE s.id = ? AND e.id = ?""",
        (story_id, entry_id),
    )
    return row is not None and bool(row[0])
