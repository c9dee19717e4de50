"""Filter values and the tags they become: countries, actions and dates. Pure; no I/O.

Stories carry tags in the `tags` column of `search_fts`, written by `document.tags_of()`:
`c` + ISO code (`ckz`), `a` + action without dashes (`aextradition`, `awantedlist`), `y` + year
(`y2025`) and `m` + year and month (`m202503`). A filter becomes a match on these tags, so it
narrows the full-text search inside SQLite instead of after it.

- `country:` takes ISO codes (kz) or names in English, Russian or Ukrainian (Kazakhstan,
  Казахстан, Киргизия, Кыргызстан), in any grammatical case (Казахстане, Грузії: by their
  pymorphy3 lemma), several separated by commas (any of them matches).
- `action:` takes extradition, deportation, detention, abduction, asylum, wanted-list, policy,
  or a word that starts like one of them in ru/uk/en (экстрадиция, deported, задержание).
- `since:` / `until:` take YYYY-MM-DD, YYYY-MM or YYYY (both ends inclusive), years
  `MIN_YEAR` to `MAX_YEAR` (1995-2100: a `QueryError` says so, since the date tags cannot
  tell earlier years apart and a span outside them would match no tag). Days are read in a
  zone given as hours from UTC (`utc_offset`: the chat's, in which its results show each
  story's day; 0, UTC, for the command line). The span's bounds are UTC seconds, and its
  tags the UTC months those seconds fall in, as the stories' tags are.
A plain query word that names a country or an action also matches that tag, so `Kyrgyzstan
extradition` finds a Russian story the classifier tagged KG and extradition.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

import Stemmer
from babel import Locale

from bot.errors import QueryError
from bot.i18n import N_
from bot.relevance.text import Lemmatizer
from bot.words import fold, is_cyrillic

MIN_LEMMA: Final = 4  # shorter lemmas name things as often as countries (чад, того)
_UKRAINIAN: Final = frozenset("іїєґ")
MIN_YEAR: Final = 1995  # stories dated earlier share this year's tag
MAX_YEAR: Final = 2100
_DATE: Final = re.compile(r"\d{4}(?:-\d{1,2}(?:-\d{1,2})?)?")
ACTIONS: Final = (
    "extradition", "deportation", "detention", "abduction", "asylum", "wanted-list", "policy",
)  # fmt: skip
# Beginnings of words that name an action, in ru/uk/en; checked on folded words.
ACTION_PREFIXES: Final = {
    "extradition": (
        "экстрадир",
        "экстрадиц",
        "екстрадиц",
        "екстрадув",
        "екстрадов",
        "extradit",
        "выдач",
        "видач",
    ),
    "deportation": ("депорт", "выдвор", "видвор", "deport", "expel", "expuls"),
    "abduction": ("похищ", "похит", "викрад", "abduct", "kidnap"),
    "detention": (
        "задерж",
        "задержан",
        "арест",
        "арешт",
        "затрим",
        "заарешт",
        "detain",
        "detent",
        "arrest",
    ),
    "asylum": ("убежищ", "притулк", "притулок", "asylum"),
    "wanted-list": ("розыск", "розшук", "wanted"),
    "policy": ("policy",),
}
# Names CLDR does not use but outlets do (CLDR's English calls TR "Türkiye" since 2023).
COUNTRY_ALIASES: Final = {
    "кыргызстан": "KG", "кыргызстане": "KG", "kirghizia": "KG", "kirgizstan": "KG",
    "рф": "RU", "оаэ": "AE", "оае": "AE", "uae": "AE", "emirates": "AE", "эмираты": "AE",
    "эмиратах": "AE", "белоруссия": "BY", "belorussia": "BY", "турция": "TR", "turkey": "TR",
    "turkiye": "TR", "türkiye": "TR", "молдавия": "MD", "uk": "GB", "britain": "GB",
    "usa": "US", "america": "US", "киргизія": "KG", "kazakstan": "KZ", "қазақстан": "KZ",
    "сша": "US", "англия": "GB", "британия": "GB", "england": "GB", "голландия": "NL",
    "holland": "NL", "южная корея": "KR", "czech republic": "CZ",
}  # fmt: skip
# Marked for the catalogs (bot.i18n.N_); the Telegram handlers translate them when they answer.
BAD_ACTION: Final = N_("Unknown action “{value}”. Actions: {actions}.")
BAD_DATE: Final = N_("Cannot read the date “{value}”. Write dates as 2025-03-01, 2025-03 or 2025.")
DATE_OUT_OF_RANGE: Final = N_("Dates run from {first} to {last}; “{value}” is outside that range.")
UNKNOWN_COUNTRY: Final = N_(
    "Unknown country “{value}”. Use a country code like kz or a name like Kazakhstan."
)
NO_COUNTRY: Final = N_(
    "country: needs a value. Use a country code like kz or a name like Kazakhstan."
)


@dataclass(frozen=True, slots=True)
class Span:
    """A closed UTC interval in Unix seconds."""

    start: float
    end: float


def country_tag(code: str) -> str:
    return "c" + code.lower()


def action_tag(action: str) -> str:
    return "a" + action.replace("-", "")


def year_tag(year: int) -> str:
    return f"y{min(max(year, MIN_YEAR), MAX_YEAR)}"


def month_tag(year: int, month: int) -> str:
    return f"m{min(max(year, MIN_YEAR), MAX_YEAR)}{month:02d}"


def parse_action(value: str) -> str:
    action = action_of(value)
    if action is None:
        raise QueryError(BAD_ACTION, value=value[:40], actions=", ".join(ACTIONS))
    return action


def action_of(word: str) -> str | None:
    folded = fold(word).replace("_", "-")
    if folded in ACTIONS:
        return folded
    for action, prefixes in ACTION_PREFIXES.items():
        if folded.startswith(prefixes):
            return action
    return None


def parse_day(value: str, *, end: bool, utc_offset: float = 0.0) -> float:
    """The first (or, with `end`, the last) second of a day, month or year in the zone
    `utc_offset` hours from UTC."""
    parts = value.split("-")
    # Four digits of year, and a given month or day is never 0 (it used to read as "none").
    if not _DATE.fullmatch(value) or any(int(p) == 0 for p in parts[1:]):
        raise QueryError(BAD_DATE, value=value[:20])
    year = int(parts[0])
    if not MIN_YEAR <= year <= MAX_YEAR:
        # The tags cannot tell these years apart (earlier stories carry MIN_YEAR's), and a
        # span entirely outside them would have no tag to match at all.
        raise QueryError(DATE_OUT_OF_RANGE, value=value[:20], first=MIN_YEAR, last=MAX_YEAR)
    month = int(parts[1]) if len(parts) > 1 else None
    day = int(parts[2]) if len(parts) > 2 else None
    zone = timezone(timedelta(hours=utc_offset))
    try:
        start = datetime(year, month or 1, day or 1, tzinfo=zone)
    except ValueError:  # 2026-13, 2026-02-30
        raise QueryError(BAD_DATE, value=value[:20]) from None
    if not end:
        return start.timestamp()
    month = month or 12
    day = day or calendar.monthrange(year, month)[1]
    return datetime(year, month, day, 23, 59, 59, tzinfo=zone).timestamp()


def date_tags(span: Span) -> Iterator[str]:
    """Tags covering every month of `span`: whole years as `y`, partial years month by month."""
    first = datetime.fromtimestamp(max(span.start, 0), UTC)
    last = datetime.fromtimestamp(min(span.end, _end_of_year(MAX_YEAR)), UTC)
    start_year, end_year = max(first.year, MIN_YEAR), min(last.year, MAX_YEAR)
    for year in range(start_year, end_year + 1):
        low = first.month if year == first.year else 1
        high = last.month if year == last.year else 12
        if low == 1 and high == 12:
            yield year_tag(year)
        else:
            yield from (month_tag(year, m) for m in range(low, high + 1))


def _end_of_year(year: int) -> float:
    return datetime(year, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


class Countries:
    """Country codes and names (CLDR en/ru/uk plus aliases, and their stems) -> ISO code; a
    Russian or Ukrainian name in another case is found by its pymorphy3 lemma (Казахстане,
    Казахстані -> Казахстан; Грузії -> Грузія), which the Snowball stem of a nominative misses.

    Built once per `QueryBuilder`; holds Snowball stemmers, so not thread-safe."""

    def __init__(self, known: frozenset[str], lemmatizer: Lemmatizer | None = None) -> None:
        self._known = known
        self._lemmatizer = lemmatizer or Lemmatizer()
        self._russian = Stemmer.Stemmer("russian")
        self._english = Stemmer.Stemmer("english")
        self._names: dict[str, str] = {}
        for locale in ("en", "ru", "uk"):
            for code, name in Locale.parse(locale).territories.items():
                if code in known:
                    self._add(fold(name), code)
        for alias, code in COUNTRY_ALIASES.items():
            self._names[alias] = code
            self._add(alias, code)

    def _add(self, folded: str, code: str) -> None:
        self._names.setdefault(folded, code)
        if " " not in folded and len(folded) >= 5:
            self._names.setdefault(self._stem(folded), code)

    def parse(self, value: str) -> tuple[str, ...]:
        """The value of `country:`: codes or names, comma-separated."""
        codes: list[str] = []
        for part in (p.strip() for p in value.split(",")):
            if not part:
                continue
            code = self.of(part)
            if code is None:
                raise QueryError(UNKNOWN_COUNTRY, value=part[:40])
            codes.append(code)
        if not codes:
            raise QueryError(NO_COUNTRY)
        return tuple(dict.fromkeys(codes))

    def of(self, word: str) -> str | None:
        """The ISO code a code or a country name (in any grammatical case) stands for."""
        folded = fold(word)
        if len(folded) == 2 and folded.upper() in self._known:
            return folded.upper()
        return self._by_name(folded)

    def named_by(self, word: str) -> str | None:
        """The country a plain query word names, by name only: a two-letter word stays a word,
        and a Russian word that reads as someone's name (Германов, Китаев) is not taken for a
        country by its stem."""
        if len(word) < 4:
            return COUNTRY_ALIASES.get(word)
        return self._by_name(word, plain=True)

    def reads_as_name(self, word: str) -> bool:
        """Whether a (folded) plain query word may be a person's name (see `named_by`)."""
        return any(self._lemmatizer.reads_as_name(word, m) for m in self._morphs(word))

    def _by_name(self, folded: str, *, plain: bool = False) -> str | None:
        found = self._names.get(folded)
        if found is not None:
            return found
        if not is_cyrillic(folded):
            return self._names.get(self._stem(folded))
        for morph in self._morphs(folded):
            for lemma in self._lemmatizer.forms(folded, morph)[1:]:
                # Whole names only: a lemma's stem could be any word's.
                if len(lemma) >= MIN_LEMMA and lemma in self._names:
                    return self._names[lemma]
        if plain and self.reads_as_name(folded):
            return None  # Германов is not Германия, though both stem to "герман"
        return self._names.get(self._stem(folded))

    def _morphs(self, folded: str) -> tuple[str, ...]:
        return ("ru", "uk") if _UKRAINIAN & set(folded) else ("ru",)

    def _stem(self, word: str) -> str:
        stemmer = self._russian if is_cyrillic(word) else self._english
        return "~" + str(stemmer.stemWord(word))  # "~" keeps stems apart from the names
