"""Search for lawyers: from what a person typed to a ranked, filtered FTS5 query.

    query.py     the query language (its docstring is the spec) -> ParsedQuery, pure
    filters.py   country, action and date values and the tags they match
    forms.py     word forms (lemmas, stems, name keys) shared by the index and the query
    match.py     ParsedQuery -> FTS5 MATCH expression (safe by construction)
    document.py  a story and its sources -> the row of `search_fts`
    people.py    person names mentioned in a story (for exports)
    export.py    results -> CSV for a legal file

`QueryBuilder` holds the stateful helpers (dictionaries, stemmers): one per task or thread.
Queries are never logged or stored.
"""

from __future__ import annotations

import time

from bot.country_codes import known_country_codes
from bot.relevance.text import Lemmatizer
from bot.search.filters import Countries
from bot.search.forms import Forms
from bot.search.match import SearchQuery, to_match
from bot.search.query import HOW_TO_SEARCH, MAX_TERMS, ParsedQuery, parse

__all__ = ["HOW_TO_SEARCH", "MAX_TERMS", "ParsedQuery", "QueryBuilder", "SearchQuery"]


class QueryBuilder:
    """Text -> `SearchQuery`, or a `QueryError` whose message is safe and friendly to show."""

    def __init__(self, known_countries: frozenset[str] | None = None) -> None:
        if known_countries is None:
            known_countries = known_country_codes()
        lemmatizer = Lemmatizer()  # one set of dictionaries for word forms and country names
        self.forms = Forms(lemmatizer)
        self.countries = Countries(known_countries, lemmatizer)

    def parse(self, text: str, *, utc_offset: float = 0.0) -> ParsedQuery:
        """`utc_offset`: the zone, in hours from UTC, whose days `since:` and `until:` name."""
        return parse(text, self.countries.parse, utc_offset=utc_offset)

    def build(self, text: str, *, now: float | None = None, utc_offset: float = 0.0) -> SearchQuery:
        return self.compile(self.parse(text, utc_offset=utc_offset), now=now)

    def compile(self, query: ParsedQuery, *, now: float | None = None) -> SearchQuery:
        now = time.time() if now is None else now
        shown = query.words + tuple(" ".join(p) for p in query.phrases)
        return SearchQuery(
            match=to_match(query, self.forms, self.countries, now),
            words=shown,
            text=query.canonical(),
            since=query.since,
            until=query.until,
            ranked=query.has_text,
        )
