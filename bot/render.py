"""Pure renderers: stories to Telegram messages built with `aiogram.utils.formatting`.

Messages carry entities, never HTML, so no feed text can break them, and a feed link becomes a
text link only where Telegram takes it as one (`bot.text_links.linked`): one it would refuse
is left as text, as it would otherwise refuse the whole message. Every renderer bounds what
it takes from a feed (titles, leads, reasons, the number of items), and `fit()` guarantees the
result is within Telegram's 4096 characters, so "message is too long" cannot happen. Lengths
against that limit are counted in UTF-16 code units (`telegram_length`), the unit of Telegram's
entity offsets: an emoji or a flag counts twice or four times, never less than Telegram may
count it. What fits is decided by one rule, `how_many_fit`, for every renderer that splits
or shortens a list.

Every label goes through the chat's translator (`bot.i18n.Tr`); country names and dates come from
CLDR (Babel) in the same locale. Without a translator the texts are English.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from aiogram.utils.formatting import Bold, Italic, Text, as_line, as_list
from babel import Locale
from babel.dates import format_date

from bot.citation import cited_outlet
from bot.i18n import ENGLISH, N_, Tr
from bot.storage.records import SENTENCE_END, Source, Story
from bot.text_links import linked

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
LEAD_MAX = 420
LEAD_SENTENCES = 3
REASONS_MAX = 5
TITLE_MAX = 300
DIGEST_ITEMS_MAX = 40
ALSO_MAX = 5  # outlets named in "also reported by"; the rest are counted
WATCHED_MAX = 5  # watches named on a card; the rest are elided
OUTLET_MAX = 60

ACTION_LABELS = {
    "extradition": N_("Extradition"),
    "deportation": N_("Deportation"),
    "detention": N_("Detention"),
    "abduction": N_("Abduction"),
    "asylum": N_("Asylum"),
    "wanted-list": N_("Wanted list"),
    "policy": N_("Policy"),
}
UNKNOWN_ACTION = N_("Case")


def alert_card(
    story: Story,
    tr: Tr = ENGLISH,
    *,
    sources: Sequence[Source] = (),
    watched: Sequence[str] = (),
) -> Text:
    """The alert a subscribed chat receives for a new story; given the story's `sources`, it
    names (and links) the other outlets that reported it, up to `ALSO_MAX`, and counts the rest;
    given the chat's `watched` phrases the story mentions, it names them. The same card,
    re-rendered when outlets join, is what the alert is edited to."""
    title = headline(story, tr)
    lead = lead_of(story.summary, title)
    parts: list[Text | str] = [
        as_line("🚨 ", Bold(headline_tags(story, tr))),
        as_line(Bold(_cut(title, TITLE_MAX))),
    ]
    if watched:
        parts.append(as_line("👁 ", tr("On your watchlist: {phrases}", phrases=_phrases(watched))))
    if lead:
        parts.append(as_line(lead))
    parts.append(as_line("📰 ", _source(story, tr, counted=not sources)))
    also = also_reported_by(story, sources, tr)
    if also is not None:
        parts.append(as_line(also))
    reasons = _reasons(story.reasons)
    if reasons:
        parts.append(as_line(Italic(tr("Why: {reasons}", reasons=reasons)), end=""))
    return fit(Text(*parts))


def story_list(stories: Sequence[Story], *, heading: str, tr: Tr = ENGLISH) -> Text:
    """Search results or recent stories: date, outlet, countries, linked title, sources."""
    items = [_list_item(number, story, tr) for number, story in enumerate(stories, 1)]
    return fit(as_list(Bold(heading), *items, sep="\n\n"))


def digest_page(
    stories: Sequence[Story],
    *,
    heading: str,
    tr: Tr = ENGLISH,
    watched: Mapping[int, Sequence[str]] | None = None,
) -> tuple[Text, int]:
    """One digest message: the heading and as many of `stories` (in order, at least one) as
    fit in Telegram's limit; returns it and how many stories it holds. The caller sends the
    rest as further messages, so a long period splits between stories, never inside one.
    `watched`: by story id, the chat's watched phrases each story mentions."""
    items = [
        _digest_item(story, tr, (watched or {}).get(story.id, ()))
        for story in stories[:DIGEST_ITEMS_MAX]
    ]
    room = TELEGRAM_TEXT_LIMIT - telegram_length(heading)
    shown = max(1, how_many_fit((2 + rendered_length(i) for i in items), room))  # 2: "\n\n"
    return fit(as_list(Bold(heading), *items[:shown], sep="\n\n")), shown


def without_entities(text: Text) -> Text:
    """`text`'s words alone, bounded: what goes again when Telegram refused the text itself."""
    return plain(text.render()[0])


def plain(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> Text:
    return fit(Text(text), limit)


def headline(story: Story, tr: Tr = ENGLISH) -> str:
    """`Story.headline`, or "(no title)" in the chat's language when the story has no text."""
    return story.headline or tr("(no title)")


def lead_of(summary: str, title: str) -> str:
    """One to three sentences of the summary, cut at a sentence boundary, without a repeated
    title; a first sentence longer than the limit is cut at a word."""
    text = " ".join(summary.split())
    # The whole title only, compared as it stands (casefolding may change a length: ß, ss).
    head, rest = text[: len(title)], text[len(title) : len(title) + 1]
    if title and head.casefold() == title.casefold() and not rest.isalnum():
        text = text[len(title) :].lstrip(" .:—-")
    lead = ""
    for sentence in SENTENCE_END.split(text)[:LEAD_SENTENCES]:
        candidate = f"{lead} {sentence}".strip()
        if len(candidate) > LEAD_MAX:
            break
        lead = candidate
    return lead or _cut(text, LEAD_MAX)


def telegram_length(text: str) -> int:
    """A text's length as Telegram's limits are counted here: in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def rendered_length(text: Text) -> int:
    return telegram_length(text.render()[0])


def how_many_fit(lengths: Iterable[int], room: int) -> int:
    """How many of the leading items, of these lengths (each with its separator), fit in
    `room` together: digests take stories from the first, /case from the last, /watchlist
    fills page after page."""
    count = 0
    for length in lengths:
        room -= length
        if room < 0:
            break
        count += 1
    return count


def fit(text: Text, limit: int = TELEGRAM_TEXT_LIMIT) -> Text:
    """Guarantee Telegram's length limit: a text over it is replaced by its cut plain form."""
    rendered, _ = text.render()
    if telegram_length(rendered) <= limit:
        return text
    # The longest prefix within the limit (a pair cut in two is dropped whole); `_cut` then
    # keeps fewer code points than that, and its "…" is one unit.
    head = rendered.encode("utf-16-le")[: 2 * limit].decode("utf-16-le", errors="ignore")
    return Text(_cut(rendered, len(head)))


def country_names(codes: Sequence[str], locale: str = "en") -> str:
    """Flags and CLDR names in the locale: "🇰🇿 Казахстан, 🇰🇬 Киргизия"."""
    return ", ".join(f"{flag(c)} {country_name(c, locale)}" for c in codes)


def country_name(code: str, locale: str = "en") -> str:
    return str(Locale.parse(locale).territories.get(code, code))


def flag(code: str) -> str:
    """The regional-indicator flag of an ISO alpha-2 code (🇰🇿 for KZ)."""
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        return ""
    return "".join(chr(0x1F1E6 + ord(ch) - ord("A")) for ch in code.upper())


def format_day(when: datetime | None, tr: Tr = ENGLISH) -> str:
    """The day of `when` in the reader's time zone and locale (`Tr`): "4 Feb 2026"."""
    if when is None:
        return ""
    day = (when + timedelta(hours=tr.utc_offset)).date()
    return format_date(day, "d MMM y", locale=tr.locale)


def cited_day(published: datetime | None, seen: datetime | None, tr: Tr = ENGLISH) -> str:
    """The day a story or report is cited by: its feed's date; an undated one says so, with
    the day the bot first saw it ("undated (seen 3 Feb 2026)"), which is not its date."""
    if published is not None:
        return format_day(published, tr)
    if seen is None:
        return tr("undated")
    return tr("undated (seen {day})", day=format_day(seen, tr))


def action_label(action: str | None, tr: Tr = ENGLISH) -> str:
    """The story's action in the chat's language ("Case" when it has none)."""
    return tr(ACTION_LABELS.get(action or "", UNKNOWN_ACTION))


def headline_tags(story: Story, tr: Tr = ENGLISH) -> str:
    """The action, then the countries, in the chat's language: "Extradition · 🇰🇿 Kazakhstan"."""
    action = action_label(story.action, tr)
    countries = country_names(story.countries, tr.locale)
    return f"{action} · {countries}" if countries else action


def outlet_of(report: Story | Source, tr: Tr = ENGLISH, limit: int = OUTLET_MAX) -> str:
    """The outlet a report (a story: its head report) is cited by (`bot.citation`), each name
    cut to `limit`: "Meduza (via Google News - экстрадиция (ru))"."""
    via = None if report.via is None else _cut(report.via, limit)
    return cited_outlet(_cut(report.outlet, limit), via, tr)


def also_reported_by(story: Story, sources: Sequence[Source], tr: Tr = ENGLISH) -> Text | None:
    """ "Also reported by: A, B, C and 4 more": each other outlet once, cited as `outlet_of`
    and linked to its report, its own rather than one through an aggregator. The head's outlet
    comes too when the head came through an aggregator and the outlet's own report is here:
    its link is the article's, where the head's is Google's redirect."""
    others: dict[str, Source] = {}
    for source in sources:
        if source.outlet == story.outlet and (story.via is None or source.via is not None):
            continue
        kept = others.get(source.outlet)
        if kept is None or (kept.via is not None and source.via is None):
            others[source.outlet] = source
    if not others:
        return None
    names: list[Text | str] = []
    for source in list(others.values())[:ALSO_MAX]:
        names.append(linked(outlet_of(source, tr), source.link))
    rest = len(others) - ALSO_MAX
    items: list[Text | str] = ["➕ ", tr("Also reported by:"), " "]
    for number, name in enumerate(names):
        items.extend([", " if number else "", name])
    if rest > 0:
        items.append(" " + tr.plural("and {n} more", "and {n} more", rest))
    return Text(*items)


def _source(story: Story, tr: Tr, *, counted: bool = True) -> Text:
    name = linked(outlet_of(story, tr, 80), story.link)
    day = cited_day(story.published_at, story.seen_at, tr)
    more = story.sources - 1 if counted else 0
    extra = " · " + tr.plural("+{n} more source", "+{n} more sources", more) if more > 0 else ""
    return Text(name, f" · {day}", extra)


def _digest_item(story: Story, tr: Tr, watched: Sequence[str] = ()) -> Text:
    title = linked(_cut(headline(story, tr), 200), story.link)
    tags = " · ".join(
        x
        for x in (
            country_names(story.countries, tr.locale),
            outlet_of(story, tr),
            f"👁 {_phrases(watched)}" if watched else "",
        )
        if x
    )
    return Text("• ", title, "\n", tags) if tags else Text("• ", title)


def _phrases(watched: Sequence[str]) -> str:
    more = " …" if len(watched) > WATCHED_MAX else ""
    return ", ".join(_cut(p, 60) for p in watched[:WATCHED_MAX]) + more


def _reasons(reasons: Sequence[str]) -> str:
    terms = dict.fromkeys(_cut(r.split(":", 1)[-1], 40) for r in reasons)
    return ", ".join(t for t in list(terms)[:REASONS_MAX] if t)


def _list_item(number: int, story: Story, tr: Tr) -> Text:
    day = cited_day(story.published_at, story.seen_at, tr)
    countries = country_names(story.countries, tr.locale)
    tags = " · ".join(x for x in (day, outlet_of(story, tr), countries) if x)
    title = linked(_cut(headline(story, tr), 200), story.link)
    return Text(
        f"{number}. ", tags, "\n", title, _outlets_note(story, tr), story_command(story, " · ")
    )


def story_command(story: Story, before: str) -> str:
    """The command that shows the story with its sources, to open or cite it from a list; only
    a public story has one (all that lists show are)."""
    return "" if story.number is None else f"{before}/story_{story.number}"


def _outlets_note(story: Story, tr: Tr) -> str:
    """ " (3 sources, also B, C)" for search results and /recent, bounded like the card."""
    if story.sources <= 1:
        return ""
    others = [_cut(o, OUTLET_MAX) for o in story.outlets if o != story.outlet][:ALSO_MAX]
    note = tr.plural("{n} source", "{n} sources", story.sources)
    if others:
        more = " …" if len(story.outlets) - 1 > ALSO_MAX else ""
        note += tr(", also {outlets}", outlets=", ".join(others)) + more
    return f" ({note})"


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:—-") + "…"
