"""Person names mentioned in a story, for the "people" column of an export. Pure.

A heuristic, not a named-entity recogniser (this docstring is the spec): a capitalised word of 3+
letters whose ending is typical of a surname in the region (Cyrillic -ов/-ев/-єв/-ин/-ын/-ін/
-ский/-цкий/-енко/-ук/-юк/-ян/-швили/-дзе/-ич/-ова..., and the same in Latin letters, in any Russian
or Ukrainian case form: Бондаренку, Петренка, Бажуковим), optionally preceded by a capitalised given
name; soft hyphens, zero-width characters and stress marks inside a word are dropped
(`bot.words.unmarked`). One name per `name_key`, first spelling kept, at most `MAX_PEOPLE`. Forms
that are a place's or a common noun's far more often than a person's are not taken: a locative
(Ukrainian -і/-ові, Russian -е) right after в/во/у/уві/на (у Харкові, в Кишиневі, в Саратове: a
person is rarely "in"; о Петрове, Петрові stay); -ом after -ов/-ев/-ин (під Львовом: a surname's is
-им/-ым; Сидоренком, Ковальчуком stay); and the Russian nouns whose cases end as -енко's do (Оценка,
Ребенка, Коленка: `_ENKA_NOUNS`), which a capital shows only where they open a sentence, as
"Бондаренка видали Росії" opens one with a surname. Names whose key merging ignores
(`bot.stop_names.is_stop_name`: places, institutions, months, and the heads of state named in every
other story, such as Lukashenko, unless another first name is given: Шерзод Алиев) are left out. A
place with a surname's ending that no list knows can still slip in; the export says "mentioned
names", not "defendants".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from bot.given_names import NOT_FIRST_NAMES
from bot.names import name_key
from bot.people import is_title_case
from bot.stop_names import is_stop_key, is_stop_name
from bot.words import composed, unmarked

MAX_PEOPLE: Final = 6
_SURNAME: Final = re.compile(
    r"(?P<given>\b[А-ЯЁЇІЄA-Z][а-яёїієґa-z'’]+\s)?"
    r"\b[А-ЯЁЇІЄA-Z][а-яёїієґa-z'’]*?"
    r"(?:ов|ев|ёв|єв|ин|ын|ін|ск|цк|енко|ук|юк|ян|швили|дзе|ич|ov|ev|yov|in|yn|sk|tsk|enko|uk"
    r"|yuk|yan|ian|shvili|dze|ich|ych"
    # -енко in its Ukrainian cases (Петренка, Бондаренку, Сидоренком)
    r"|(?P<enko>енк)(?=а|у|ом|ові))"
    r"(?P<case>а|у|ым|ой|ою|е|ых|ыми|ий|ого|ому|ая|ую|ой|им|(?<!ов|ев|ёв|єв|ин|ын|ін)ом|ові|і"
    r"|ої|a|y|iy|iy|aya)?\b"
)
# Cities with a surname's ending that the stop list cannot hold, by key: the city is named in
# its cases (в Ростове, з Харкова: a genitive after з is also "from Petrov", so no rule can
# tell them). Ростов is also a surname, which merging must keep; Харків and Кишинів are rarely
# one. Львов is a common surname: its locative goes by the rule above, its other cases stay.
_NOT_NAMES: Final = frozenset({"rostov", "harkov", "kishinev"})
_LOCATIVE: Final = frozenset({"і", "ові", "е"})
_PLACE_PREPOSITIONS: Final = frozenset({"в", "во", "у", "уві", "на"})
# Russian nouns whose cases end as -енко's do (their stem before -енк): capitalised only where
# a sentence opens with one, as an -енко surname's case may (Бондаренка видали Росії).
_ENKA_NOUNS: Final = frozenset(
    {"оц", "реб", "кот", "тел", "кол", "порос", "ут", "цыпл", "оп", "п", "заст", "ст", "сгущ", "пл"}
)
_OPENING: Final = " \t\r\n«\"„“'(—–-"  # what may stand before a preposition: «в, (у


def people(texts: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for stored in texts:
        # A name with a soft hyphen or a stress mark inside is listed whole, without them;
        # text stored before reading composed it may be decomposed.
        text = unmarked(composed(stored))
        title_case = is_title_case(text)
        for match in _SURNAME.finditer(text):
            if _not_a_person(text, match):
                continue
            surname = match.group().split()[-1]
            key = name_key(surname)
            given = _given(text, match, title_case)
            first = None if given is None else name_key(given)
            if key is None or key in _NOT_NAMES or is_stop_name(key, first):
                continue
            # The first spelling, but one with a first name over one without: a headline's
            # "Иван Петров задержан" gives none (rule 2), its lead's "задержали Ивана Петрова" does.
            if key in found and (given is None or " " in found[key]):
                continue
            found[key] = surname if given is None else f"{given} {surname}"
            if len(found) >= MAX_PEOPLE:
                return tuple(found.values())
    return tuple(found.values())


def _given(text: str, match: re.Match[str], title_case: bool) -> str | None:
    """The capitalised word before the surname, unless that says nothing: a word opening a
    sentence (Активиста Смирнова задержали), any word of a Title Case headline (Kazakhstan
    Detains Activist Smirnov), as in `bot.people` rule 2, a stop word or a title (Imam)."""
    given = match["given"]
    if given is None or title_case:
        return None
    before = text[: match.start("given")].rstrip(_OPENING)
    if not before or before[-1] in ".!?…":
        return None
    key = name_key(given.strip())
    # A place or an official is no first name: выдал России Смирнова, критик Путина Смирнов.
    return None if key is None or is_stop_key(key) or key in NOT_FIRST_NAMES else given.strip()


def _not_a_person(text: str, match: re.Match[str]) -> bool:
    """Whether the match is a place's locative or an -енка noun (see the module docstring)."""
    before = text[: match.start()]
    if match["case"] in _LOCATIVE and match["given"] is None:
        words = before.rsplit(None, 1)
        if words and words[-1].lstrip(_OPENING).lower() in _PLACE_PREPOSITIONS:
            return True
    if match["enko"] is None or match["given"] is not None:
        return False
    return match.group()[: match.start("enko") - match.start()].lower() in _ENKA_NOUNS
