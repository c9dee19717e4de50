"""The schema, as an append-only list of migrations.

`PRAGMA user_version` holds how many of them a database has had. Never edit or reorder a
migration that has shipped: add a new one at the end.

Times are Unix seconds (REAL, UTC). Chat ids are Telegram's ids; nothing else about a chat or a
person is stored (no names, usernames or message texts).
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the foundation.
    """
    CREATE TABLE feeds (
        id              INTEGER PRIMARY KEY,
        name            TEXT NOT NULL UNIQUE,
        url             TEXT NOT NULL,
        lang            TEXT,
        interval        REAL NOT NULL,
        enabled         INTEGER NOT NULL DEFAULT 1,
        etag            TEXT,
        last_modified   TEXT,
        next_check_at   REAL NOT NULL DEFAULT 0,
        error_count     INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        last_error_at   REAL,
        last_success_at REAL
    );

    CREATE TABLE stories (
        id           INTEGER PRIMARY KEY,
        created_at   REAL NOT NULL,
        published_at REAL,
        title        TEXT NOT NULL,
        summary      TEXT NOT NULL,
        link         TEXT,
        outlet       TEXT NOT NULL,
        countries    TEXT NOT NULL DEFAULT '',  -- ' KZ RU ': spaces around each code
        action       TEXT,
        score        REAL NOT NULL,
        reasons      TEXT NOT NULL DEFAULT '[]'  -- JSON list
    );
    CREATE INDEX stories_published ON stories (published_at);

    -- Every entry ever seen, so a re-poll never re-alerts. Only relevant ones keep their text,
    -- as the story's sources.
    CREATE TABLE entries (
        id            INTEGER PRIMARY KEY,
        feed_id       INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
        entry_key     TEXT NOT NULL,
        canonical_url TEXT,
        content_hash  TEXT NOT NULL,
        story_id      INTEGER REFERENCES stories (id) ON DELETE SET NULL,
        title         TEXT,
        link          TEXT,
        lang          TEXT,
        published_at  REAL,
        seen_at       REAL NOT NULL,
        UNIQUE (feed_id, entry_key)
    );
    CREATE INDEX entries_canonical_url ON entries (canonical_url) WHERE canonical_url IS NOT NULL;
    CREATE INDEX entries_story ON entries (story_id) WHERE story_id IS NOT NULL;

    CREATE VIRTUAL TABLE stories_fts USING fts5 (
        title, summary, outlet, tokenize = 'unicode61 remove_diacritics 2'
    );

    CREATE TABLE chats (
        chat_id      INTEGER PRIMARY KEY,
        subscribed   INTEGER NOT NULL DEFAULT 0,
        countries    TEXT NOT NULL DEFAULT '',  -- ' KZ KG ', or '' for every country
        thread_id    INTEGER,                   -- forum topic the chat subscribed from
        active       INTEGER NOT NULL DEFAULT 1,
        created_at   REAL NOT NULL
    );

    -- The outbox. One alert per (chat, story), guaranteed here rather than in memory.
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        chat_id         INTEGER NOT NULL
                        REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
        story_id        INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
        kind            TEXT NOT NULL DEFAULT 'alert',
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending, sending, sent, failed
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        message_id      INTEGER,
        last_error      TEXT,
        created_at      REAL NOT NULL,
        sent_at         REAL,
        UNIQUE (chat_id, story_id, kind)
    );
    CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

    CREATE TABLE counters (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    );
    """,
    # 2: sources at scale (issue 8): kinds of source, adaptive intervals, moved and disabled
    # feeds, and durable once-only admin notices about failing feeds.
    """
    ALTER TABLE feeds ADD COLUMN kind TEXT NOT NULL DEFAULT 'feed';  -- feed | telegram
    -- The address feeds.yaml gives; `url` is where the feed lives now (a 301 moves it).
    ALTER TABLE feeds ADD COLUMN source_url TEXT;
    ALTER TABLE feeds ADD COLUMN min_interval REAL;
    ALTER TABLE feeds ADD COLUMN max_interval REAL;
    ALTER TABLE feeds ADD COLUMN poll_interval REAL;       -- the adapted interval; NULL: interval
    ALTER TABLE feeds ADD COLUMN last_new_at REAL;         -- when the feed last had new entries
    ALTER TABLE feeds ADD COLUMN failing_since REAL;       -- first error of the current streak
    ALTER TABLE feeds ADD COLUMN disabled_reason TEXT;     -- set: not polled until fixed
    ALTER TABLE feeds ADD COLUMN disabled_at REAL;
    ALTER TABLE feeds ADD COLUMN told_failing_at REAL;     -- admins were told of this streak
    ALTER TABLE feeds ADD COLUMN told_disabled_at REAL;    -- admins were told it was disabled
    UPDATE feeds SET source_url = url;
    """,
    # 3 (issue 6, search): one FTS5 row per story with its sources' titles and outlets, the
    # words' lemmas, stems and name keys (`terms`) and filter tags; see bot.storage.search_index.
    # Lemmas need Python, so existing stories are queued in `search_pending` and indexed by
    # `Storage.open()`.
    """
    DROP TABLE stories_fts;
    CREATE VIRTUAL TABLE search_fts USING fts5 (
        title, body, outlets, terms, tags, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE search_pending (story_id INTEGER PRIMARY KEY);
    INSERT INTO search_pending (story_id) SELECT id FROM stories;
    CREATE INDEX stories_day ON stories (COALESCE(published_at, created_at));
    """,
    # 4: chat settings, watchlists, stories kept only for a watchlist (issue #7).
    """
    ALTER TABLE chats ADD COLUMN language TEXT;        -- ru, uk, en; NULL: whoever speaks
    ALTER TABLE chats ADD COLUMN mode TEXT NOT NULL DEFAULT 'instant';  -- daily, weekly
    ALTER TABLE chats ADD COLUMN digest_hour INTEGER NOT NULL DEFAULT 9;   -- local hour
    ALTER TABLE chats ADD COLUMN utc_offset INTEGER NOT NULL DEFAULT 0;    -- whole hours
    ALTER TABLE chats ADD COLUMN quiet_from INTEGER;   -- local hours; NULL: no quiet hours
    ALTER TABLE chats ADD COLUMN quiet_to INTEGER;
    ALTER TABLE chats ADD COLUMN previews INTEGER NOT NULL DEFAULT 0;

    -- 0: stored only because a watchlist named it; not searchable, not broadcast.
    ALTER TABLE stories ADD COLUMN broadcast INTEGER NOT NULL DEFAULT 1;

    -- Names and phrases a chat follows. The phrase is kept as typed, to list and remove it.
    CREATE TABLE watchlist (
        chat_id    INTEGER NOT NULL
                   REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
        keys       TEXT NOT NULL,   -- the phrase's word keys (bot.watch), space-separated
        phrase     TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (chat_id, keys)
    );
    """,
    # 5: stories merged across outlets and languages (issue #4). Self-contained: only adds.
    """
    -- The MinHash of a story's source (bot.fingerprint), so a later report can be compared.
    ALTER TABLE entries ADD COLUMN minhash BLOB;
    -- ' key key ': surname keys of the people its sources name (bot.people), for merging.
    ALTER TABLE stories ADD COLUMN names TEXT NOT NULL DEFAULT '';

    -- The merge indexes: a new report finds its candidate stories by LSH band or by a person's
    -- name key, never by scanning the stories. No index by story_id: every one would double
    -- the random page writes per entry, and stories are never deleted (if one is, the cascade
    -- scans these tables once).
    CREATE TABLE story_bands (
        band     INTEGER NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
        PRIMARY KEY (band, story_id)
    ) WITHOUT ROWID;
    CREATE TABLE story_names (
        name     TEXT NOT NULL,
        story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
        PRIMARY KEY (name, story_id)
    ) WITHOUT ROWID;
    """,
    # 6: delivery you can trust (#5). `plain`: Telegram rejected the rendered card once, so the
    # delivery is resent as plain text (and given up if that is rejected too). The partial index
    # serves the sender's "oldest pending delivery of each chat" query.
    """
    ALTER TABLE deliveries ADD COLUMN plain INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_chat_pending ON deliveries (chat_id, id) WHERE state = 'pending';
    """,
    # 7 (search speed): per-token document counts for ranking, kept by
    # bot.storage.search_index.write_row; the row with the empty term counts indexed stories.
    # Filled here from the index itself (fts5vocab counts rows per token).
    """
    CREATE TABLE search_terms (
        term TEXT PRIMARY KEY,
        docs INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE temp.search_vocab USING fts5vocab(main, search_fts, 'row');
    INSERT INTO search_terms (term, docs) SELECT term, doc FROM temp.search_vocab;
    DROP TABLE temp.search_vocab;
    INSERT INTO search_terms (term, docs)
        SELECT '', COUNT(*) FROM search_fts_docsize HAVING COUNT(*) > 0;
    """,
    # 8: the search index is written once per refresh cycle, not once per fetch
    # (bot.storage.search_index.flush). `version` counts changes since a story was queued, so a
    # row computed elsewhere is written only if the story did not change meanwhile.
    """
    ALTER TABLE search_pending ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
    """,
    # 9: "does this feed already report this story?" (asked for every report that joins a
    # story) walked every source of the story; a story with hundreds of outlets made it slow.
    """
    CREATE INDEX entries_story_feed ON entries (story_id, feed_id) WHERE story_id IS NOT NULL;
    """,
    # 10: a verbatim copy of a source stores no signature (bot.storage.stories), so a story
    # with hundreds of copies would make "its newest signatures" walk past all of them.
    """
    CREATE INDEX entries_story_text ON entries (story_id, id) WHERE minhash IS NOT NULL;
    """,
    # 11: each report that joins a story keeps its lead as well as its title (the first one's
    # lead is the story's), so that a chat's card can say whom a later outlet's lead named
    # (bot.delivery_calls) and a search for that name finds the story (bot.search.document).
    # Every such report, not only those that named a watched name: which leads were kept must
    # not tell what anyone watches. Reports stored before keep NULL.
    """
    ALTER TABLE entries ADD COLUMN summary TEXT;
    """,
    # 12: when a delivery fell (or falls) due, which starts the sender's 24 h give-up window
    # (bot.sender). A digest item is queued days before its digest time, so counting from its
    # queue time (`created_at`) gave it up after one failure. An alert or edit is due when it is
    # queued, a digest item at the chat's digest time; a retry does not move it, a chat choosing
    # another digest time or mode does (bot.storage.chats.save_settings). 0 means "when queued".
    # Existing digest items count from their next attempt: one already failing gets a fresh
    # window rather than being given up early.
    """
    ALTER TABLE deliveries ADD COLUMN due_at REAL NOT NULL DEFAULT 0;
    UPDATE deliveries
    SET due_at = CASE kind WHEN 'digest' THEN next_attempt_at ELSE created_at END;
    """,
    # 13: the last RSS <ttl> a feed sent (seconds), still asked for when it answers 304, which
    # has no body to read it from (bot.schedule).
    """
    ALTER TABLE feeds ADD COLUMN ttl REAL;
    """,
    # 14: the number a story is shown and looked up by (/story 12, search results, `search
    # --json`), given when it becomes public, in that order. Ids are shared with watch-only
    # stories (bot.storage.stories), so a gap among shown ids told that some chat's watch had
    # matched something. Public stories stored before keep their id as their number, so
    # numbers already cited still find them; watch-only ones have none.
    """
    ALTER TABLE stories ADD COLUMN number INTEGER;
    UPDATE stories SET number = id WHERE broadcast = 1;
    CREATE UNIQUE INDEX stories_number ON stories (number);
    """,
    # 15: the forms of a headline's words get their own column, weighted as the headline
    # (bot.search.document): in `terms` with the lead's, a story naming someone in passing
    # outranked the one whose headline named them in another case or script. An FTS5 table
    # cannot gain a column, so it is made anew, empty, with its document counts; every public
    # story is queued and `Storage.open()` writes its row (a watch-only one gets none).
    """
    DROP TABLE search_fts;
    CREATE VIRTUAL TABLE search_fts USING fts5 (
        title, title_terms, body, outlets, terms, tags,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    DELETE FROM search_terms;
    INSERT INTO search_pending (story_id) SELECT id FROM stories WHERE broadcast = 1
        ON CONFLICT (story_id) DO UPDATE SET version = version + 1;
    """,
    # 16: every country a relevant report of a story named (' GE KZ RU '), for the chats'
    # country filters when an alert is sent (bot.delivery_calls): a later outlet's report that
    # names another country queues the story for the chats that take it, and the story's own
    # `countries` are its head's only (what the card shows and merging compares). It grows as
    # relevant reports join or are edited (bot.storage.story_rows.add_report_countries); a
    # watch-only story has none. Reports keep no countries of their own, so a public story
    # stored before with more than one report gets NULL, unknown: its filter is not checked
    # when sending (as before); one with a single report has that report's, its head's.
    """
    ALTER TABLE stories ADD COLUMN report_countries TEXT;
    UPDATE stories SET report_countries = CASE
        WHEN broadcast = 0 THEN ''
        WHEN (SELECT COUNT(*) FROM entries e WHERE e.story_id = stories.id) <= 1 THEN countries
    END;
    """,
    # 17: a report word for word that of a stored source joins its story whatever its date
    # (bot.storage.story_index.same_text): one index seek per new report, over the entries
    # that have a story (the ones without, most of them, are not indexed).
    """
    CREATE INDEX entries_story_copy ON entries (content_hash) WHERE story_id IS NOT NULL;
    """,
    # 18: ' surname:form ': the first names its sources give its surnames (bot.people, rule 7),
    # so that a namesake's report (Алексей Смирнов after Дмитрий Смирнов) is another story
    # (bot.merge). Filled for the stories still open to merging by bot.storage.rekey
    # (bot.names.KEYS_VERSION 8); older ones keep none, which merges as before.
    """
    ALTER TABLE stories ADD COLUMN first_names TEXT NOT NULL DEFAULT '';
    """,
    # 19: when the sender first claimed a delivery (bot.storage.outbox.mark_sending): its 24 h
    # give-up window starts there if that is after it fell due (bot.send_outcomes). Counted from
    # `due_at` alone, a bot down for a day past it gave the delivery up at the first 502 after
    # the restart, with no try made. NULL: not tried yet; rows already failing get a fresh window
    # from their next claim.
    """
    ALTER TABLE deliveries ADD COLUMN first_attempt_at REAL;
    """,
    # 20: when the chat's last digest went (bot.storage.outbox.mark_sent), so that a digest
    # moved to another hour or zone neither skips the period's digest nor sends a second one
    # in it (bot.chat_settings). NULL: none yet, or none since this column came; a block wipes
    # it (bot.storage.chats).
    """
    ALTER TABLE chats ADD COLUMN last_digest_at REAL;
    """,
    # 21: a chat's last digest as migration 20 keeps it, for the chats whose digest older code
    # sent: without it, a digest hour moved later on the day of the upgrade sent a second one.
    """
    UPDATE chats SET last_digest_at = (
        SELECT MAX(d.due_at) FROM deliveries d
        WHERE d.chat_id = chats.chat_id AND d.kind = 'digest' AND d.state = 'sent'
    ) WHERE last_digest_at IS NULL;
    """,
    # 22: a delivery's error as versions before bot.logs.stored_error stored it could quote a
    # Bot API address, token and all (".../bot123:AA.../sendMessage"): such errors go.
    """
    UPDATE deliveries SET last_error = NULL WHERE last_error LIKE '%/bot%:%';
    UPDATE feeds SET last_error = NULL WHERE last_error LIKE '%/bot%:%';
    """,
    # 23: a story's search row tags the countries of every relevant report of it
    # (report_countries, which the chats' filters are matched against), not only its head's:
    # the stories where they can differ are indexed again.
    """
    INSERT INTO search_pending (story_id)
        SELECT id FROM stories
        WHERE broadcast = 1 AND report_countries IS NOT NULL
          AND report_countries != countries
        ON CONFLICT (story_id) DO UPDATE SET version = version + 1;
    """,
    # 24: the outlet an aggregator's item names as its own (RSS <source>, which every Google
    # News item has; bot.parse), cited with the feed it came through ("Meduza (via Google News
    # - ...)"): per report, and per story for the report that heads it (bot.storage.story_rows).
    # NULL: the feed is the outlet. Reports stored before get theirs when their feed lists them
    # again: Google's title loses its " - Meduza" ending, an edit (bot.storage.edits).
    """
    ALTER TABLE entries ADD COLUMN named_outlet TEXT;
    ALTER TABLE stories ADD COLUMN named_outlet TEXT;
    """,
    # 25: a story's outlets are told apart by the name they are cited by (a named outlet, else
    # the feed), so that one outlet through two feeds is one source (bot.storage.stories):
    # whether a story has a report of a named outlet is an index lookup on the save path.
    """
    CREATE INDEX entries_story_outlet ON entries (story_id, named_outlet)
        WHERE story_id IS NOT NULL AND named_outlet IS NOT NULL;
    """,
    # 26: the feed a story's head report came through (bot.storage.story_rows), which renames
    # (bot.storage.feeds) and edits (bot.storage.edits) go by: its name could not tell a feed
    # set aside from the one that took that name. Stories stored before get the feed of the
    # report whose outlet, address and title they show, and NULL where two feeds' reports
    # show them alike or none does: those go by their outlet's name, as before. No REFERENCES:
    # a feed's row is never deleted, and a column in one could not be dropped.
    """
    ALTER TABLE stories ADD COLUMN head_feed_id INTEGER;
    UPDATE stories SET head_feed_id = (
        SELECT CASE WHEN COUNT(DISTINCT e.feed_id) = 1 THEN MIN(e.feed_id) END
        FROM entries e JOIN feeds f ON f.id = e.feed_id
        WHERE e.story_id = stories.id AND e.link IS stories.link AND e.title IS stories.title
          AND stories.outlet = CASE WHEN instr(f.name, char(0)) > 0
              THEN substr(f.name, 1, instr(f.name, char(0)) - 1) ELSE f.name END
    );
    """,
)
