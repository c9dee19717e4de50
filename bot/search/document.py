"""A story and its sources -> the row of `search_fts`. Pure apart from `Forms`.

title        the story's headline, folded
title_terms  the extra forms of the headline's words (`Forms.document_terms`): weighted as
             the headline, so a name there counts as much in any case or script (Бажуков,
             Bazhukov for "Бажукова") as in the form it is written in
body         its lead, then every source's own title, then the leads of the first `LEADS_MAX`
             later reports that differ from it (folded): a headline or a name seen in any
             outlet finds the story, also when its first report named nobody
outlets      every source's outlet name: its feed's, and the one its item names as its own
             (an aggregator's, Google News's: `from:meduza` finds Meduza's report there)
terms        the extra forms of the body's words
tags         countries, action, year and month (`filters`), e.g. "ckz cru aextradition
             y2025 m202503"
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.search.filters import action_tag, country_tag, month_tag, year_tag
from bot.search.forms import Forms
from bot.words import fold

Row = tuple[str, str, str, str, str, str]  # one row of search_fts, its columns in the order above
LAST_SECOND = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()
# Later reports' leads indexed per story: enough for the names a case's first reports lacked,
# without letting a story that hundreds of outlets rewrote grow one huge row.
LEADS_MAX = 20


@dataclass(frozen=True, slots=True)
class Source:
    outlet: str
    title: str | None


@dataclass(frozen=True, slots=True)
class Document:
    """What is indexed of one story."""

    title: str
    summary: str
    countries: tuple[str, ...]
    action: str | None
    published_at: float  # Unix seconds; the story's date, or when it was stored
    lang: str | None
    sources: tuple[Source, ...]
    # The leads of the reports that joined the story (migration 11), earliest first; only the
    # first `LEADS_MAX` that differ from `summary` and from each other are indexed.
    leads: tuple[str, ...] = ()


def index_row(doc: Document, forms: Forms) -> Row:
    """(title, title_terms, body, outlets, terms, tags) for `search_fts`."""
    titles = [s.title for s in doc.sources if s.title and s.title != doc.title]
    leads = list(dict.fromkeys(lead for lead in doc.leads if lead and lead != doc.summary))
    texts = [doc.title, doc.summary, *dict.fromkeys(titles), *leads[:LEADS_MAX]]
    outlets = " ".join(dict.fromkeys(fold(s.outlet) for s in doc.sources))
    return (
        fold(doc.title),
        forms.document_terms(texts[:1], doc.lang),
        fold(" ".join(texts[1:])),
        outlets,
        forms.document_terms(texts[1:], doc.lang),
        " ".join(tags_of(doc.countries, doc.action, doc.published_at)),
    )


def tags_of(countries: Sequence[str], action: str | None, published_at: float) -> list[str]:
    when = datetime.fromtimestamp(min(max(published_at, 0.0), LAST_SECOND), UTC)
    tags = [country_tag(c) for c in countries]
    if action:
        tags.append(action_tag(action))
    tags += [year_tag(when.year), month_tag(when.year, when.month)]
    return tags
