"""Pure renderers of search replies: result pages, the full story card, a case timeline.

Entities, never HTML; every feed text is cut, and `fit()` bounds the whole message to 4096
characters. A result page starts with `QUERY_MARK` and the canonical query on its own line:
the pagination buttons re-read the query from there (see `bot.telegram.search`), so the bot
stores no query anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aiogram.utils.formatting import Bold, Text, TextLink, as_line, as_list

from bot.render import ACTION_LABELS, country_names, fit, format_day, lead_of
from bot.storage.records import Story
from bot.storage.search import SourceRow

QUERY_MARK: Final = "🔎 "
TITLE_MAX: Final = 220
SOURCE_TITLE_MAX: Final = 160
SOURCES_MAX: Final = 25
TIMELINE_TITLE_MAX: Final = 140


def results_page(
    stories: Sequence[Story], query_text: str, page: int, page_size: int, *, locale: str = "en"
) -> Text:
    """One page of results: date, countries, action, headline (linked), sources, /story."""
    first = page * page_size + 1
    items = [_result(n, s, locale) for n, s in enumerate(stories, first)]
    heading = as_line(QUERY_MARK, query_text, end="")
    return fit(as_list(heading, Text(f"Page {page + 1}"), *items, sep="\n\n"))


def query_of_page(text: str | None) -> str | None:
    """The canonical query a result page was rendered for (its first line)."""
    if not text or not text.startswith(QUERY_MARK):
        return None
    return text[len(QUERY_MARK) :].split("\n", 1)[0]


def story_card(story: Story, sources: Sequence[SourceRow], *, locale: str = "en") -> Text:
    """/story <id>: tags, headline, lead, then every source to cite: outlet, date, title, link."""
    parts: list[Text | str] = [
        as_line(Bold(f"Story {story.id} · {_tags(story, locale)}")),
        as_line(Bold(_cut(story.title, TITLE_MAX))),
    ]
    lead = lead_of(story.summary, story.title)
    if lead:
        parts.append(as_line(lead))
    parts.append(as_line(Bold(f"Sources ({len(sources)})")))
    for number, source in enumerate(sources[:SOURCES_MAX], 1):
        parts.append(_source_line(number, source, locale))
    if len(sources) > SOURCES_MAX:
        parts.append(as_line(f"… and {len(sources) - SOURCES_MAX} more (/export has all)"))
    return fit(Text(*parts))


def timeline(stories: Sequence[Story], name: str, *, locale: str = "en") -> Text:
    """/case <name>: every story naming the person, oldest first, one line each."""
    lines = [as_line(Bold(f"Case: {name} — {len(stories)} stories, oldest first"))]
    for story in stories:
        title = _cut(story.title, TIMELINE_TITLE_MAX)
        linked: Text | str = TextLink(title, url=story.link) if story.link else title
        action = ACTION_LABELS.get(story.action or "", "Case")
        day = format_day(story.published_at, locale) or "undated"
        lines.append(as_line(f"{day} · {action} · ", linked, f" /story_{story.id}"))
    return fit(Text(*lines))


def _result(number: int, story: Story, locale: str) -> Text:
    title = _cut(story.title, TITLE_MAX)
    linked: Text | str = TextLink(title, url=story.link) if story.link else title
    day = format_day(story.published_at, locale) or "undated"
    sources = f"{story.sources} sources" if story.sources != 1 else "1 source"
    outlet = _cut(story.outlet, 60)
    return Text(
        f"{number}. {day} · {_tags(story, locale)}\n",
        linked,
        f"\n{outlet} · {sources} · /story_{story.id}",
    )


def _tags(story: Story, locale: str) -> str:
    action = ACTION_LABELS.get(story.action or "", "Case")
    countries = country_names(story.countries, locale)
    return f"{action} · {countries}" if countries else action


def _source_line(number: int, source: SourceRow, locale: str) -> Text:
    day = format_day(source.published_at, locale) or "undated"
    title = _cut(source.title or "(no title)", SOURCE_TITLE_MAX)
    link: Text | str = TextLink(source.link, url=source.link) if source.link else "no link"
    return as_line(f"{number}. {_cut(source.outlet, 60)} · {day}\n", title, "\n", link)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
