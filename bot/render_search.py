"""Pure renderers of search replies: result pages, the full story card, a case timeline.

Entities, never HTML; every feed text is cut, and `fit()` bounds the whole message to 4096
characters; a link Telegram would refuse is left as text (`bot.text_links.linked`). Labels go
through the chat's translator (`bot.i18n.Tr`), country names and dates come from CLDR in the
same locale; without a translator the texts are English.

A result page starts with `QUERY_MARK` and the canonical query on its own line: the pagination
buttons re-read the query from there (see `bot.telegram.search`), so the bot stores no query
anywhere. That line is never translated: the canonical query is the same in every language
(filter keys are English, words are folded), and the translated labels start on the next line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from aiogram.utils.formatting import Bold, Text, as_line, as_list

from bot.i18n import ENGLISH, Tr
from bot.render import (
    TELEGRAM_TEXT_LIMIT,
    action_label,
    cited_day,
    fit,
    headline,
    headline_tags,
    how_many_fit,
    lead_of,
    outlet_of,
    rendered_length,
    story_command,
    telegram_length,
)
from bot.storage.records import Source, Story
from bot.text_links import linked

QUERY_MARK: Final = "🔎 "
TITLE_MAX: Final = 220
SOURCE_TITLE_MAX: Final = 160
SOURCES_MAX: Final = 25
TIMELINE_TITLE_MAX: Final = 140
# Room kept for the line that counts what did not fit ("N earlier stories not shown", "and N
# more sources").
COUNT_LINE_MAX: Final = 100
LINK_TEXT_MAX: Final = 120  # a source's link as shown; the link itself is whole
# A run of escaped bytes 0x80-0xFF: every byte of a character UTF-8 writes in more than one.
_NON_ASCII_ESCAPES: Final = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")


def results_page(
    stories: Sequence[Story], query_text: str, page: int, page_size: int, *, tr: Tr = ENGLISH
) -> Text:
    """One page of results: date, countries, action, headline (linked), sources, /story."""
    first = page * page_size + 1
    items = [_result(n, s, tr) for n, s in enumerate(stories, first)]
    heading = as_line(QUERY_MARK, query_text, end="")
    return fit(as_list(heading, Text(tr("Page {n}", n=page + 1)), *items, sep="\n\n"))


def query_of_page(text: str | None) -> str | None:
    """The canonical query a result page was rendered for (its first line)."""
    if not text or not text.startswith(QUERY_MARK):
        return None
    return text[len(QUERY_MARK) :].split("\n", 1)[0]


def story_card(story: Story, sources: Sequence[Source], *, tr: Tr = ENGLISH) -> Text:
    """/story <number>: tags, headline, lead, then every source to cite: outlet, date, title,
    link."""
    title = headline(story, tr)
    parts: list[Text | str] = [
        as_line(Bold(tr("Story {id}", id=story.number), " · ", headline_tags(story, tr))),
        as_line(Bold(_cut(title, TITLE_MAX))),
    ]
    lead = lead_of(story.summary, title)
    if lead:
        parts.append(as_line(lead))
    parts.append(as_line(Bold(tr("Sources ({n})", n=len(sources)))))
    # As many sources as fit whole, links kept: a card cut by `fit` loses every link.
    lines = [_source_line(n, source, tr) for n, source in enumerate(sources[:SOURCES_MAX], 1)]
    room = TELEGRAM_TEXT_LIMIT - rendered_length(Text(*parts)) - COUNT_LINE_MAX
    shown = how_many_fit(map(rendered_length, lines), room)
    parts += lines[:shown]
    if len(sources) > shown:
        more = tr.plural(
            "… and {n} more source (/export has all)",
            "… and {n} more sources (/export has all)",
            len(sources) - shown,
        )
        parts.append(as_line(more))
    return fit(Text(*parts))


def timeline(
    stories: Sequence[Story], name: str, *, total: int | None = None, tr: Tr = ENGLISH
) -> Text:
    """/case <name>: the stories naming the person, oldest first, one line each. `total` is how
    many match in all (default: `stories`). What does not fit in one message goes from the
    oldest end, with a line saying how many earlier stories are left out: the latest events of
    a long case are the ones a lawyer asks for."""
    total = len(stories) if total is None else total
    heading = tr.plural(
        "Case: {name} — {n} story, oldest first",
        "Case: {name} — {n} stories, oldest first",
        total,
        name=name,
    )
    lines = [_timeline_line(story, tr) for story in stories]
    room = TELEGRAM_TEXT_LIMIT - telegram_length(heading) - COUNT_LINE_MAX
    shown = how_many_fit(map(rendered_length, reversed(lines)), room)
    earlier = total - shown
    head = [as_line(Bold(heading))]
    if earlier:
        head.append(
            as_line(
                tr.plural(
                    "({n} earlier story not shown)", "({n} earlier stories not shown)", earlier
                )
            )
        )
    return fit(Text(*head, *lines[len(lines) - shown :]))


def _timeline_line(story: Story, tr: Tr) -> Text:
    title = linked(_cut(headline(story, tr), TIMELINE_TITLE_MAX), story.link)
    action = action_label(story.action, tr)
    day = cited_day(story.published_at, story.seen_at, tr)
    return as_line(f"{day} · {action} · ", title, story_command(story, " "))


def _result(number: int, story: Story, tr: Tr) -> Text:
    title = linked(_cut(headline(story, tr), TITLE_MAX), story.link)
    day = cited_day(story.published_at, story.seen_at, tr)
    sources = tr.plural("{n} source", "{n} sources", story.sources)
    outlet = outlet_of(story, tr)
    return Text(
        f"{number}. {day} · {headline_tags(story, tr)}\n",
        title,
        f"\n{outlet} · {sources}",
        story_command(story, " · "),
    )


def _source_line(number: int, source: Source, tr: Tr) -> Text:
    day = cited_day(source.published_at, source.seen_at, tr)
    title = _cut(source.title or tr("(no title)"), SOURCE_TITLE_MAX)
    link: Text | str = tr("no link")
    if source.link:  # shown readable (Cyrillic, not %D0%B1...) and bounded; it links in full
        link = linked(_cut(_readable(source.link), LINK_TEXT_MAX), source.link)
    return as_line(f"{number}. {outlet_of(source, tr)} · {day}\n", title, "\n", link)


def _readable(url: str) -> str:
    """The link as a reader wants to see it (Cyrillic, not %D0%B1...), unless decoding it
    brings out what must not be shown: a control, a direction override, a broken byte. Only
    non-ASCII UTF-8 is decoded: an ASCII escape stays as it is (%3F, %2F, %26, %25...), as the
    text, copied and cited, must be the very address the link is, not another one."""
    try:
        text = _NON_ASCII_ESCAPES.sub(_utf8, url)
    except UnicodeDecodeError:
        return url
    return text if text.isprintable() else url


def _utf8(escapes: re.Match[str]) -> str:
    return bytes.fromhex(escapes.group().replace("%", "")).decode("utf-8")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
