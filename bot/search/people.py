"""Person names mentioned in a story, for the "people" column of an export. Pure.

A heuristic, not a named-entity recogniser (this docstring is the spec): a capitalised word of
3+ letters whose ending is typical of a surname in the region (Cyrillic -ов/-ев/-єв/-ин/-ын/-ін/
-ский/-цкий/-енко/-ук/-юк/-ян/-швили/-дзе/-ич/-ова..., and the same in Latin letters, in any
Russian or Ukrainian case form: Бондаренку, Петренка, Бажуковим), optionally preceded by a
capitalised given name. One name per `name_key`, first spelling
kept, at most `MAX_PEOPLE`. Names whose key merging ignores (`bot.people.is_stop_key`: places,
institutions, months, and the heads of state named in every other story, such as Lukashenko)
are left out. A place with a surname's ending that no list knows can still slip in; the export
says "mentioned names", not "defendants".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from bot.names import name_key
from bot.people import is_stop_key

MAX_PEOPLE: Final = 6
_SURNAME: Final = re.compile(
    r"(?:\b[А-ЯЁЇІЄA-Z][а-яёїієґa-z'’]+\s)?"
    r"\b[А-ЯЁЇІЄA-Z][а-яёїієґa-z'’]*?"
    r"(?:ов|ев|ёв|єв|ин|ын|ін|ск|цк|енко|ук|юк|ян|швили|дзе|ич|ov|ev|yov|in|yn|sk|tsk|enko|uk"
    r"|yuk|yan|ian|shvili|dze|ich|ych"
    # -енко in its Ukrainian cases (Петренка, Бондаренку, Сидоренком)
    r"|енк(?=а|у|ом|ові))"
    r"(?:а|у|ым|ой|ою|е|ых|ыми|ий|ого|ому|ая|ую|ой|им|ом|ові|і|ої|a|y|iy|iy|aya)?\b"
)
# A city with a surname's ending that the stop list cannot hold: Ростов is also a surname, which
# merging must keep. By key: the city is named in its cases (в Ростове, з Ростова).
_NOT_NAMES: Final = frozenset({"rostov"})


def people(texts: Iterable[str]) -> tuple[str, ...]:
    found: dict[str, str] = {}
    for text in texts:
        for match in _SURNAME.finditer(text):
            name = match.group()
            surname = name.split()[-1]
            key = name_key(surname)
            if key is None or key in found or key in _NOT_NAMES or is_stop_key(key):
                continue
            found[key] = name
            if len(found) >= MAX_PEOPLE:
                return tuple(found.values())
    return tuple(found.values())
