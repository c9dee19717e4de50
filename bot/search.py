"""From what a person typed to a safe SQLite FTS5 query. Pure; no I/O.

The rules (this docstring is the spec):
- Only words count: runs of letters and digits. Everything else (quotes, `*`, `:`, `^`,
  parentheses, `-`, SQL, emoji) separates words and is otherwise ignored, so no input can be
  an FTS5 syntax error.
- Every word must match (AND). A word matches any form that shares its stem: Snowball's Russian
  stemmer for Cyrillic words, its English one for Latin words; the stem is used as a prefix, so
  `Казахстан` also finds `Казахстана` and `extradition` finds `extraditions`.
- Words shorter than 2 characters are dropped; at most `MAX_TERMS` words and `MAX_INPUT`
  characters are read.
- Nothing left to search for is a `QueryError` whose message explains how to search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import Stemmer

from bot.errors import QueryError
from bot.i18n import N_

MAX_INPUT = 500
MAX_TERMS = 12
MIN_STEM = 3

_WORD = re.compile(r"[^\W_]+")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

HOW_TO_SEARCH = N_(
    "Type a few words to search the stored stories, e.g. a name (Бажуков, Bazhukov), "
    "a country or an action: /search экстрадиция Казахстан"
)


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A ready FTS5 MATCH expression and the words it came from."""

    match: str
    words: tuple[str, ...]


class QueryBuilder:
    """Holds the stemmers (they are not thread-safe, so one builder per task or thread)."""

    def __init__(self) -> None:
        self._ru = Stemmer.Stemmer("russian")
        self._en = Stemmer.Stemmer("english")

    def build(self, text: str) -> SearchQuery:
        words = [w.casefold() for w in _WORD.findall(text[:MAX_INPUT]) if len(w) >= 2]
        words = list(dict.fromkeys(words))[:MAX_TERMS]
        if not words:
            raise QueryError(HOW_TO_SEARCH)
        return SearchQuery(" AND ".join(self._term(w) for w in words), tuple(words))

    def _term(self, word: str) -> str:
        stemmer = self._ru if _CYRILLIC.search(word) else self._en
        stem = stemmer.stemWord(word)
        # A word is only letters and digits, so quoting it cannot break out of the string.
        if len(stem) >= MIN_STEM and word.startswith(stem):
            return f'"{stem}"*'
        return f'"{word}"'
