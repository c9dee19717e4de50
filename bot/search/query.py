"""What a person typed -> a `ParsedQuery`. Pure; never an FTS error, never an exception other
than `QueryError`, whose message is one friendly line.

The query language (this docstring is the spec):
- `word`: every plain word must match (AND), in any of its forms (see `forms`); best first.
- `"a quoted phrase"`: these words next to each other, in this order. A missing closing quote
  closes at the end. Typographic quotes (“ ” „ ‟) and guillemets (« ») are quotes too: phones
  type them for ".
- A chunk of words joined by punctuation, such as `Абдул-Азиз` or `OVD-Info`, is its words, as
  if typed apart: each in any of its forms, so `Абдул-Азиз` finds `Абдул-Азиза` and
  `Abdul-Aziz` (as a phrase it would find only that very form). Quote it for the phrase.
- `-word`, `-"a phrase"`: stories containing it are left out; `-OVD-Info` is the phrase.
- Filters, `key:value` with no space after the colon; a value with spaces goes in quotes:
  `country:kz` (codes or names in ru/uk/en; `country:kz,kg` is either, and so is
  `country:kz, kg` when the word after the comma names a country),
  `action:extradition` (or выдача, депортация, арешт ...),
  `since:2025-03-01`, `until:2025-06` (YYYY-MM-DD, YYYY-MM or YYYY; inclusive; days of the
  zone `parse` is given, the chat's, in which the results show each story's day),
  `from:meduza` or `from:"ovd info"` (words of the outlet's name; `from:meduza,kloop` is
  either outlet, and so is `from:"meduza, ovd info"`: the words between two commas are one
  name). Repeating a filter adds
  alternatives (country, action, from) or replaces the date. A filter cannot be negated.
- `since:`, `until:` or `action:` with a space after the colon (`since: 2025`), or a date
  filter without its colon (`since 2025-03`), is a `QueryError` saying so; it would be
  searched as words (`country:` and `from:` with nothing after the colon say they need a
  value). Quoted, `"since 2022"` is the words.
- A `key:` one or two letters off a filter's name (`contry:kz`, `untill:2025`) is a
  `QueryError` naming the filter meant: searched as words, it would find nothing, silently.
- Anything else (FTS operators, `*`, `^`, parentheses, SQL, emoji, other `key:value` such as
  a URL) only separates words. Words are runs of letters and digits, folded (lower case, ё=е);
  one-letter words are dropped. At most `MAX_INPUT` characters and `MAX_TERMS` words, phrases
  and exclusions are read; a phrase keeps at most `MAX_PHRASE` words. Filters do not count
  towards `MAX_TERMS` (one after the twelfth word still applies); `from:` keeps the first
  `MAX_OUTLETS` outlets.
- Nothing to search for (no word, phrase or filter) is a `QueryError` saying how to search.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from difflib import get_close_matches
from typing import Final

from bot.errors import QueryError
from bot.i18n import N_
from bot.search.filters import parse_action, parse_day
from bot.words import fold

MAX_INPUT: Final = 1000
MAX_TERMS: Final = 12
MAX_PHRASE: Final = 8
MAX_OUTLETS: Final = 5
MAX_OUTLET_WORDS: Final = 6
MIN_WORD: Final = 2
FILTER_KEYS: Final = frozenset({"country", "action", "since", "until", "from"})

# Marked for the catalogs (bot.i18n.N_); the Telegram handlers translate them when they answer.
HOW_TO_SEARCH: Final = N_(
    "Type a few words to search the stored stories, e.g. a name (Бажуков, Bazhukov), "
    'a "quoted phrase", -word to leave out, or filters: /search экстрадиция country:kz '
    "since:2025-03-01 (also until:, action:deportation, from:<outlet>; from:meduza,kloop is "
    "either)"
)
ONLY_EXCLUSIONS: Final = N_("Add a word to look for: -word only leaves stories out.")
NEGATED_FILTER: Final = N_("Filters cannot be negated: write country:kz, not -country:kz.")
UNKNOWN_FILTER: Final = N_("There is no filter “{key}:”. Did you mean {known}:?")
NO_OUTLET: Final = N_("from: needs an outlet's name, e.g. from:meduza")
DATES_SWAPPED: Final = N_("since: is after until:, so nothing can match; swap the dates.")
NO_COLON: Final = N_(
    "Write {key}:{value}, with the colon; to search for these words, put them in quotes."
)
_DATE_LIKE: Final = re.compile(r"\d{4}(?:-\d{1,2}){0,2}")
_DATE_KEYS: Final = ("since", "until")  # as words before a date, taken for these filters
NO_VALUE: Final = N_("Write the value right after “{key}:”, with no space, e.g. {example}")
_EXAMPLES: Final = {
    "since": "since:2025-03",
    "until": "until:2025-06",
    "action": "action:extradition",
}
_QUOTES: Final = str.maketrans(dict.fromkeys("“”„‟«»", '"'))
# A country list typed with a space after a comma (country:kz, kg), and the word after it.
_SPACED_LIST: Final = re.compile(r'\b(country:(?:[^\s",]*,)+)\s+([^\s",]+)', re.IGNORECASE)

_CHUNK: Final = re.compile(
    r'(?P<neg>-?)(?:(?P<key>[A-Za-z]+):(?:"(?P<qval>[^"]*)"?|(?P<val>[^\s"]*))'
    r'|"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))'
)
_WORD: Final = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    words: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    excluded: tuple[tuple[str, ...], ...] = ()  # each a word (1) or a phrase (2+)
    countries: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    outlets: tuple[tuple[str, ...], ...] = ()
    since: float | None = None
    until: float | None = None
    utc_offset: float = 0.0  # hours: the zone `since` and `until` name days of

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def has_filters(self) -> bool:
        filters = (self.countries, self.actions, self.outlets)
        return any(filters) or self.since is not None or self.until is not None

    def canonical(self) -> str:
        """A text that parses back to this query (shown to the user and kept in the reply)."""
        # Typed "(since 2025)", these are words; bare before a date they would be refused.
        parts = [f'"{w}"' if w in _DATE_KEYS else w for w in self.words]
        parts += [_quoted(p) for p in self.phrases]
        parts += ["-" + (e[0] if len(e) == 1 else _quoted(e)) for e in self.excluded]
        if self.countries:
            parts.append("country:" + ",".join(c.lower() for c in self.countries))
        parts += [f"action:{a}" for a in self.actions]
        parts += ["from:" + (o[0] if len(o) == 1 else _quoted(o)) for o in self.outlets]
        if self.since is not None:
            parts.append("since:" + _day(self.since, self.utc_offset))
        if self.until is not None:
            parts.append("until:" + _day(self.until, self.utc_offset))
        return " ".join(parts)


@dataclass(slots=True)
class _Draft:
    query: ParsedQuery = field(default_factory=ParsedQuery)
    terms: int = 0

    def add(self, **changes: tuple[object, ...]) -> None:
        """Add words, phrases or exclusions: the first `MAX_TERMS` count, later ones are dropped."""
        if self.terms >= MAX_TERMS:
            return
        self.terms += 1
        self.add_filter(**changes)

    def add_filter(self, **changes: tuple[object, ...]) -> None:
        """Add filter values. Not counted against `MAX_TERMS`: a filter dropped silently would
        widen the search behind the user's back, and each is bounded by its own values (the
        known countries and actions, `MAX_OUTLETS` outlets) and by `MAX_INPUT`."""
        current = self.query
        updates = {k: (*getattr(current, k), *v) for k, v in changes.items()}
        self.query = replace(current, **updates)  # type: ignore[arg-type]


def parse(
    text: str, countries: Callable[[str], tuple[str, ...]], *, utc_offset: float = 0.0
) -> ParsedQuery:
    """Parse `text`; `countries` reads a `country:` value (codes or names) into ISO codes;
    dates are days in the zone `utc_offset` hours from UTC."""
    draft = _Draft(ParsedQuery(utc_offset=utc_offset))
    text = unicodedata.normalize("NFKC", text[:MAX_INPUT]).translate(_QUOTES)
    text = _joined_country_lists(text, countries)
    chunks = list(_CHUNK.finditer(text))
    _refuse_date_without_colon(chunks)
    for chunk in chunks:
        negated = chunk["neg"] == "-"
        key = (chunk["key"] or "").lower()
        if key in FILTER_KEYS:
            if negated:
                raise QueryError(NEGATED_FILTER)
            value = chunk["qval"] if chunk["qval"] is not None else chunk["val"] or ""
            if not value and key in _EXAMPLES and chunk["qval"] is None:
                raise QueryError(NO_VALUE, key=key, example=_EXAMPLES[key])
            _filter(draft, key, value, countries)
        elif key and (close := get_close_matches(key, FILTER_KEYS, n=1, cutoff=0.7)):
            # contry:kz would be searched as the words "contry kz" and find nothing.
            raise QueryError(UNKNOWN_FILTER, key=key[:20], known=close[0])
        elif chunk["phrase"] is not None:
            # Inside quotes every word counts: "отказал в экстрадиции" needs its "в".
            _text(draft, words_of(chunk["phrase"], 1), negated, quoted=True)
        else:
            _text(draft, words_of(chunk.group()), negated, quoted=False)
    return _finish(draft.query)


def _joined_country_lists(text: str, countries: Callable[[str], tuple[str, ...]]) -> str:
    """`country:kz, kg` as `country:kz,kg`: a word after the comma joins the list when it
    names a country; any other word (`country:kz, Бажуков`) stays a word of its own."""

    def join(found: re.Match[str]) -> str:
        try:
            countries(found[2])
        except QueryError:
            return found.group()
        return found[1] + found[2]

    while (joined := _SPACED_LIST.sub(join, text)) != text:  # one more item each time
        text = joined
    return text


def _refuse_date_without_colon(chunks: list[re.Match[str]]) -> None:
    """`since 2025-03` would be searched as the words since, 2025 and 03, and find nothing."""
    for word, value in itertools.pairwise(chunks):
        key = (word["word"] or "").lower()
        if key in _DATE_KEYS and _DATE_LIKE.fullmatch(value["word"] or ""):
            raise QueryError(NO_COLON, key=key, value=value["word"])


def words_of(text: str, min_length: int = MIN_WORD) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(fold(text)) if len(w) >= min_length)


def _text(draft: _Draft, words: tuple[str, ...], negated: bool, *, quoted: bool) -> None:
    words = words[:MAX_PHRASE]
    if (len(words) == 1 and len(words[0]) < MIN_WORD) or not words:
        return
    if negated:
        # Leaving out only the phrase leaves out less than leaving out each of its words.
        draft.add(excluded=(words,))
    elif len(words) == 1 or not quoted:
        for word in words:
            if word not in draft.query.words:
                draft.add(words=(word,))
    else:
        draft.add(phrases=(words,))


def _filter(
    draft: _Draft, key: str, value: str, countries: Callable[[str], tuple[str, ...]]
) -> None:
    value = value.strip()
    if key == "country":
        draft.add_filter(countries=countries(value))
    elif key == "action":
        draft.add_filter(actions=(parse_action(value),))
    elif key == "from":
        # Each name of a comma list is an alternative, as `country:kz,kg` is either country.
        names = [w[:MAX_OUTLET_WORDS] for part in value.split(",") if (w := words_of(part))]
        if not names:
            raise QueryError(NO_OUTLET)
        room = max(0, MAX_OUTLETS - len(draft.query.outlets))
        draft.add_filter(outlets=tuple(names[:room]))
    elif key == "since":
        since = parse_day(value, end=False, utc_offset=draft.query.utc_offset)
        draft.query = replace(draft.query, since=since)
    else:
        until = parse_day(value, end=True, utc_offset=draft.query.utc_offset)
        draft.query = replace(draft.query, until=until)


def _finish(query: ParsedQuery) -> ParsedQuery:
    query = replace(
        query,
        countries=tuple(dict.fromkeys(query.countries)),
        actions=tuple(dict.fromkeys(query.actions)),
        phrases=tuple(dict.fromkeys(query.phrases)),
        excluded=tuple(dict.fromkeys(query.excluded)),
    )
    if not query.has_text and not query.has_filters:
        raise QueryError(ONLY_EXCLUSIONS if query.excluded else HOW_TO_SEARCH)
    if query.since is not None and query.until is not None and query.since > query.until:
        raise QueryError(DATES_SWAPPED)
    return query


def _quoted(words: tuple[str, ...]) -> str:
    return '"' + " ".join(words) + '"'


def _day(timestamp: float, utc_offset: float) -> str:
    zone = timezone(timedelta(hours=utc_offset))
    return datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%d")
