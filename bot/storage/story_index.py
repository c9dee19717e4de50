"""The merge index: which stored stories might a new report belong to?

Two index tables point at stories: `story_bands` (the LSH bands of every source's MinHash) and
`story_names` (the surname keys its sources name; their first names, `stories.first_names`, are
read with the candidates and not indexed). A lookup is one indexed query for the
report's 16 bands and few names, restricted to stories within the time window, newest first
and at most `MAX_CANDIDATES`; then the candidates' source signatures are read (one per distinct
text: a verbatim copy of a source adds neither index rows nor a signature). Cost and memory
per report stay the same however many stories are stored. `bot.merge` decides among them.
Before any of that, a report at the address of another feed's report is that report's story
(`story_of_url`), unless the people they name say otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.fingerprint import Fingerprint, unpack
from bot.merge import WINDOW, Candidate, Features, other_people
from bot.people import NO_FIRST_NAMES, NamedPeople, surnames
from bot.storage.db import Row, SyncTransaction
from bot.storage.records import Incoming

MAX_CANDIDATES = 64
MAX_SIGNATURES = 8  # per candidate: its first source and the newest (`_signatures`)
_CANDIDATE_COLUMNS = (
    "s.id, s.names, s.first_names, s.countries, s.action, "
    "COALESCE(s.published_at, s.created_at) AS at"
)


def features_of(
    when: float, names: str, countries: str, action: str | None, first_names: str = ""
) -> Features:
    return Features(
        when,
        frozenset(names.split()),
        frozenset(countries.split()),
        action,
        frozenset(first_names.split()) if first_names else NO_FIRST_NAMES,
    )


def people_of(item: Incoming) -> NamedPeople:
    """The people a report names, as its fingerprint has them (none without one)."""
    fingerprint = item.fingerprint
    if fingerprint is None:
        return NamedPeople(frozenset(), NO_FIRST_NAMES)
    return NamedPeople(fingerprint.names, fingerprint.first_names)


def report_features(item: Incoming, when: float) -> Features:
    """What merging compares of a new report (`when`: its date, or now)."""
    people, verdict = people_of(item), item.verdict
    countries = frozenset(verdict.countries)
    return Features(when, people.keys, countries, verdict.action, people.first_names)


def candidates(tx: SyncTransaction, fingerprint: Fingerprint, when: float) -> list[Candidate]:
    lookups: list[str] = []
    params: list[object] = []
    if fingerprint.signature:
        bands = fingerprint.bands
        lookups.append(f"SELECT story_id FROM story_bands WHERE band IN ({_marks(bands)})")
        params.extend(bands)
    if fingerprint.names:
        names = sorted(fingerprint.names)
        lookups.append(f"SELECT story_id FROM story_names WHERE name IN ({_marks(names)})")
        params.extend(names)
    if not lookups:
        return []
    rows = tx.fetchall(
        f"""
        SELECT {_CANDIDATE_COLUMNS} FROM stories s
        WHERE s.id IN ({" UNION ".join(lookups)})
          AND COALESCE(s.published_at, s.created_at) BETWEEN ? AND ?
        ORDER BY at DESC, s.id DESC
        LIMIT ?
        """,
        (*params, when - WINDOW, when + WINDOW, MAX_CANDIDATES),
    )
    return _candidates(tx, rows)


def candidate(tx: SyncTransaction, story_id: int) -> Candidate | None:
    """One story as merging sees it (is an entry's new text still about its story?)."""
    row = tx.fetchone(f"SELECT {_CANDIDATE_COLUMNS} FROM stories s WHERE s.id = ?", (story_id,))
    return None if row is None else _candidates(tx, [row])[0]


def same_text(tx: SyncTransaction, content_hash: str) -> Candidate | None:
    """The story of the newest stored source that says word for word what a new report says
    (its `content_hash`), whatever its date (migration 17): a re-post or an aggregator's copy
    of that source, days later too, past the window that `candidates` keeps to."""
    row = tx.fetchone(
        """SELECT story_id FROM entries INDEXED BY entries_story_copy
           WHERE content_hash = ? AND story_id IS NOT NULL ORDER BY id DESC LIMIT 1""",
        (content_hash,),
    )
    return None if row is None else candidate(tx, row["story_id"])


def _candidates(tx: SyncTransaction, rows: Sequence[Row]) -> list[Candidate]:
    if not rows:
        return []
    signatures = _signatures(tx, [r["id"] for r in rows])
    return [
        Candidate(
            story_id=r["id"],
            features=features_of(
                r["at"], r["names"], r["countries"], r["action"], r["first_names"]
            ),
            signatures=tuple(signatures.get(r["id"], ())),
        )
        for r in rows
    ]


Signatures = dict[int, list[tuple[int, ...]]]


def _signatures(tx: SyncTransaction, story_ids: Sequence[int]) -> Signatures:
    """Each story's first source signature and its newest others, `MAX_SIGNATURES` in all:
    per story two index walks that stop there, so a story with hundreds of sources costs no
    more than one with eight. The first is what aggregators copy, days later too (past the
    entity window only the text can join them), while a big case's later rewrites in other
    languages would push it out of the newest. Verbatim copies store no signature
    (`bot.storage.stories`), so these are distinct texts; the partial index skips the copies
    instead of walking past them."""
    rows = tx.fetchall(
        """SELECT c.value AS story_id, e.minhash FROM json_each(?) AS c
           JOIN entries e ON e.id IN (
               SELECT id FROM entries INDEXED BY entries_story_text
               WHERE story_id = c.value AND minhash IS NOT NULL
               ORDER BY id DESC LIMIT ?)
             OR e.id = (
               SELECT id FROM entries INDEXED BY entries_story_text
               WHERE story_id = c.value AND minhash IS NOT NULL
               ORDER BY id LIMIT 1)
           ORDER BY e.id DESC""",
        (json.dumps(list(story_ids)), MAX_SIGNATURES - 1),
    )
    out: Signatures = {}
    for row in rows:
        out.setdefault(row["story_id"], []).append(unpack(row["minhash"]))
    return out


def add(
    tx: SyncTransaction, story_id: int, fingerprint: Fingerprint, *, new_story: bool = False
) -> None:
    """Index a story's (new) source: its bands now lead to the story, and so do its names,
    unless it names a surname the story (which has some) does not: a round-up that names the
    story's person among others, or a report that also names a judge, would draw the other
    people's own later reports into this story, and their cases would reach nobody as news.
    The first names it gives its surnames (`stories.first_names`) go with its names. A new
    story got both in its INSERT, so only the index rows are written (fewer round trips)."""
    tx.executemany(
        "INSERT OR IGNORE INTO story_bands (band, story_id) VALUES (?, ?)",
        ((band, story_id) for band in fingerprint.bands),
    )
    names = fingerprint.names
    if not names:
        return
    known: set[str] = set()
    known_first: set[str] = set()
    if not new_story:
        row = tx.fetchone("SELECT names, first_names FROM stories WHERE id = ?", (story_id,))
        if row is not None:
            known, known_first = set(row["names"].split()), set(row["first_names"].split())
        if not names_join(names, known):
            return
    tx.executemany(
        "INSERT OR IGNORE INTO story_names (name, story_id) VALUES (?, ?)",
        ((name, story_id) for name in names),
    )
    first_names = fingerprint.first_names
    if not new_story and not (names <= known and first_names <= known_first):
        tx.execute(
            "UPDATE stories SET names = ?, first_names = ? WHERE id = ?",
            (
                names_column(frozenset(known | names)),
                names_column(frozenset(known_first | first_names)),
                story_id,
            ),
        )


def names_join(names: frozenset[str], known: set[str] | frozenset[str]) -> bool:
    """Whether a joining source's `names` become its story's (which has `known`): see `add`."""
    story_surnames = surnames(known)
    return not story_surnames or surnames(names) <= story_surnames


def names_column(names: frozenset[str]) -> str:
    return f" {' '.join(sorted(names))} " if names else ""


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" for _ in values)


def story_of_url(tx: SyncTransaction, item: Incoming, feed_id: int) -> int | None:
    """The story another feed's entry with this address belongs to: the same article, which
    an aggregator or a second feed of the outlet links. Within one feed, an entry under another
    key with the same link is another item (a feed that links every item to its front page or
    a live page) or the same item under a new GUID, and merging tells those apart by their
    text. A site's front page is never one article's address, and neither is a page whose
    story names people of whom the report names none (a live page two feeds of an outlet
    link for every item: another case, which merging judges)."""
    url = item.canonical_url
    if url is None or urlsplit(url).path in ("", "/"):
        return None
    row = tx.fetchone(
        """SELECT e.story_id, s.names, s.first_names FROM entries e
           JOIN stories s ON s.id = e.story_id
           WHERE e.canonical_url = ? AND e.feed_id != ? LIMIT 1""",
        (url, feed_id),
    )
    if row is None:
        return None
    people = people_of(item)
    story_first_names = frozenset(row["first_names"].split())
    if other_people(people.keys, row["names"].split(), people.first_names, story_first_names):
        return None
    return int(row["story_id"])
