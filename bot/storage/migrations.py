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
    # 2: delivery you can trust (#5). `plain`: Telegram rejected the rendered card once, so the
    # delivery is resent as plain text (and given up if that is rejected too). The partial index
    # serves the sender's "oldest pending delivery of each chat" query.
    """
    ALTER TABLE deliveries ADD COLUMN plain INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_chat_pending ON deliveries (chat_id, id) WHERE state = 'pending';
    """,
)
