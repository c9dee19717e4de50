"""A `ParsedQuery` -> an FTS5 MATCH expression over `search_fts`. Pure apart from `Forms`.

Every token goes into the expression as a double-quoted string made only of letters and digits,
so no input can produce FTS5 syntax. Columns (see `bot.search.document`): `title`,
`title_terms` (the headline's lemmas, stems, name keys), `body`, `outlets`, `terms` (the body's)
and `tags` (country, action, year and month).

    word            {title title_terms body terms} : ("word" OR "lemma" OR "namekey")
                    [OR tags : "ckz"]
    "a phrase"      {title body} : "a phrase"
    -word           ... NOT {title title_terms body terms} : (...)
    country:kz,kg   tags : ("ckz" OR "ckg")      action:x   tags : "ax"
    from:ovd,kloop  outlets : ("ovd" OR "kloop") since/until   tags : ("y2024" OR "m202501" ...)

Tags only narrow: the storage weighs the `tags` column 0, so neither a filter nor a word's tag
changes the ranking (`bot.storage.search`).

`phrases_of()` reads such an expression back into its quoted phrases and their columns, which
is what the storage ranks by (as FTS5's bm25 does: each quoted string is one phrase).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from bot.search.filters import (
    Countries,
    Span,
    action_of,
    action_tag,
    country_tag,
    date_tags,
)
from bot.search.forms import Forms
from bot.search.query import ParsedQuery

TEXT_COLUMNS: Final = "{title title_terms body terms}"
PHRASE_COLUMNS: Final = "{title body}"
FAR_PAST: Final = datetime(1900, 1, 1, tzinfo=UTC).timestamp()
# Nearly every story is tagged RU or BY (the states people flee), so a word naming them gains
# no recall from the tag, and the tag's huge doclist made bm25 ~30 ms slower per query on 1M
# stories. `country:ru` still filters on it.
UNTAGGED_WORDS: Final = frozenset({"RU", "BY"})
COLUMNS: Final = ("title", "title_terms", "body", "outlets", "terms", "tags")
# `columns : "phrase"` or `columns : ("a" OR "b")`; quotes inside a phrase are doubled.
_GROUP: Final = re.compile(
    r'(\{[a-z_ ]+\}|[a-z_]+) : (\((?:[^()"]|"(?:[^"]|"")*")*\)|"(?:[^"]|"")*")'
)
_QUOTED: Final = re.compile(r'"((?:[^"]|"")*)"')
_NOT: Final = " NOT ("
_AND: Final = ") AND ("


@dataclass(frozen=True, slots=True)
class MatchPhrase:
    """One quoted string of a MATCH expression and the columns it may match in."""

    text: str
    columns: tuple[str, ...]
    group: int | None  # which of the ANDed parts it belongs to; None: under NOT


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """Everything the storage needs to run a search, and the query's canonical text."""

    match: str
    words: tuple[str, ...]  # for headings: the words and phrases looked for
    text: str  # the canonical query; parses back to the same search
    since: float | None
    until: float | None
    ranked: bool  # words or phrases given: rank by relevance, else newest first


def to_match(query: ParsedQuery, forms: Forms, countries: Countries, now: float) -> str:
    positive: list[str] = [_word(w, forms, countries) for w in query.words]
    positive += [f"{PHRASE_COLUMNS} : {_quote(' '.join(p))}" for p in query.phrases]
    if query.countries:
        positive.append(_tags(country_tag(c) for c in query.countries))
    if query.actions:
        positive.append(_tags(action_tag(a) for a in query.actions))
    if query.outlets:
        positive.append(
            "outlets : (" + " OR ".join(_quote(" ".join(o)) for o in query.outlets) + ")"
        )
    if query.since is not None or query.until is not None:
        latest = max(now, query.since or now) + 366 * 86400  # dates a little ahead still count
        end = query.until if query.until is not None else latest
        span = Span(query.since if query.since is not None else FAR_PAST, end)
        positive.append(_tags(date_tags(span)))
    expression = " AND ".join(f"({p})" for p in positive)
    for excluded in query.excluded:
        if len(excluded) == 1:
            expression += f" NOT ({TEXT_COLUMNS} : ({_any(forms.query_forms(excluded[0]))}))"
        else:
            expression += f" NOT ({PHRASE_COLUMNS} : {_quote(' '.join(excluded))})"
    return expression


def phrases_of(match: str) -> tuple[MatchPhrase, ...]:
    """Every quoted string of `match` (made by `to_match`) with its columns, in order."""
    # to_match puts exclusions last and wraps each ANDed part in parentheses; quoted text is
    # folded letters, so it never holds "NOT (" or ") AND (".
    wanted, _, excluded = match.partition(_NOT)
    parts: list[tuple[str, int | None]] = [
        (part, number) for number, part in enumerate(wanted.split(_AND))
    ]
    parts.append((excluded, None))
    found: list[MatchPhrase] = []
    for part, number in parts:
        for group in _GROUP.finditer(part):
            columns = tuple(c for c in group[1].strip("{}").split() if c in COLUMNS)
            found += [
                MatchPhrase(q.replace('""', '"'), columns, number)
                for q in _QUOTED.findall(group[2])
            ]
    return tuple(found)


def _word(word: str, forms: Forms, countries: Countries) -> str:
    text = f"{TEXT_COLUMNS} : ({_any(forms.query_forms(word))})"
    tags = []
    country = countries.named_by(word)
    if country is not None and country not in UNTAGGED_WORDS:
        tags.append(country_tag(country))
    action = None if countries.reads_as_name(word) else action_of(word)  # not Арестович
    if action is not None:
        tags.append(action_tag(action))
    return f"{text} OR {_tags(tags)}" if tags else text


def _tags(tags: Iterable[str]) -> str:
    return f"tags : ({_any(tags)})"


def _any(tokens: Iterable[str]) -> str:
    return " OR ".join(_quote(t) for t in tokens)


def _quote(text: str) -> str:
    # The tokens are letters, digits and spaces already; doubling quotes is FTS5's own escape.
    return '"' + text.replace('"', '""') + '"'
