"""Capitalised words that name no one a report is about (`bot.people` rule 4): places,
institutions, outlets, months, weekdays, and the officials who appear in every other story.

Keys are in `bot.names.name_key`'s skeleton form (kh -> h, zh -> sh, y -> i, doubled letters
single), mostly as prefixes, so that every case and script of a word meets its entry.

An official's surname is also an ordinary person's: Алиев, Кадыров, Рахмонов, Жапаров, Токаев
are among the commonest surnames of the people this bot watches for. So an official's surname
is a stop word only when nothing says it is someone else's: with the official's own first name
before it (Ильхама Алиева), with a patronymic only, or alone (Алиев заявил). After another
first name (Шерзода Алиева, Bahrom Rahmonov) it is that person's surname (`is_stop_name`).
Likewise a surname made of a place's stem is no place (Литвиненко, Москвин, Исраилов), and a few
stop words are first names too (Георгия, Германа: `is_also_first_name`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from bot.names import name_key

STOP_CACHE: Final = 8192  # keys whose stop-ness is kept: the frequent ones come back
# Places: countries, demonyms, regions and cities. A surname made of a place's stem is no
# place (`_SURNAME_PAST_A_PLACE`).
_PLACE_PREFIXES: Final = (
    "rosi", "rusia", "rusian", "kazah", "kirgiz", "taik", "uzbek", "turkm", "armeni", "gruzi",
    "georgia", "turkei", "turts", "türk", "serbi", "belarus", "belorus", "ukrain", "chechn",
    "chechen", "dagest", "ingush", "azerb", "mongol", "kitai", "china", "chines", "evrop",
    "europ", "amerik", "americ", "german", "germani", "frants", "franc", "izrail", "israel",
    "emirat", "tailand", "thailand", "vietnam", "moldov", "latvi", "litv", "lithuan", "eston",
    "polsh", "poland", "kavkaz", "caucas", "sibir", "siberi", "krim", "crimea", "sentral", "arab",
    # Ukrainian spellings that the Russian stems miss (Туреччина, Німеччина, Білорусь...)
    "turechchin", "nimechchin", "bilorus", "virmeni", "chornogori", "chernogori", "chehi",
    "avstri", "finliandi", "shvetsi",
    "central", "united", "nation", "soviet", "sovetsk", "resei", "srbi", "belgorod", "ural",
    # cities
    "moskv", "moscov", "maskeu", "astan", "almati", "almata", "almate", "almatu", "bishkek",
    "tashkent", "dushanb",
    "erevan", "ierevan", "tbilis", "stambul", "istanbul", "ankar", "antali", "belgrad",
    "dubai", "dubae", "minsk", "kiev", "kiiv", "grozn", "mahachkal", "peterburg", "petersburg",
    "bangkok", "pattai", "phuket", "batum", "samarkand", "karagand", "shimkent", "aktau",
    "vilnius", "varshav", "warsav", "berlin", "giumri",
)  # fmt: skip
# What a surname adds to a place's stem: -ов/-ев/-енко a few letters on (Литвиненко, Литвинов,
# Уралов, Украинцев, Исраилов), or -ин right after a stem in -в (Москвин, Литвин). Not a
# demonym's -n (Georgian), an adjective's -ский (Алматинский), nor a Kazakh or Kyrgyz genitive's
# -ның/-нын/-тин (Орусиянын, Ташкенттин: tashkentin, Ереванның: erevanin).
_SURNAME_PAST_A_PLACE: Final = re.compile(r"[a-z]{0,4}(?:ov|ev|enko)")
# Whole stems: Kazakh and Kyrgyz names of countries (their genitives in -ның/-нын, Орусиянын,
# Қазақстанның, end like a Russian -ин surname), institutions, outlets, months and weekdays
# (Совет Министров is no Министров). Russian and Ukrainian months are lower case (июля, like
# Юлия, is iulia; the English July is juli).
_OTHER_PREFIXES: Final = (
    "orusia", "kazakstan", "ozbekstan", "tashikstan", "turkia", "azirbaishan",
    # institutions and outlets
    "interpol", "genprokur", "prokur", "prosecut", "verhovn", "supreme", "kremlin", "kreml",
    "evronius", "euronevs", "radio", "svobod", "liberti", "azatik", "mediazon", "memorial",
    "amnesti", "human", "rights", "vatch", "komitet", "comite", "court", "ofice", "grup", "group",
    "ministr", "interior", "foreign", "federal", "national", "state", "service", "securit",
    "police", "politsi", "telegram", "reuters", "eurasianet", "novaia", "meduz", "reporter",
    "international", "union", "republic", "respublik", "president", "prezident", "premier",
    "general", "justice", "bureau", "agents", "agenci", "agency", "news", "info",
    # months and weekdays
    "ianvar", "januar", "fevral", "februar", "aprel", "april", "august",
    "avgust", "septemb", "sentiabr", "octob", "oktiabr", "novemb", "noabr", "decemb", "dekabr",
    "mondai", "tuesdai", "wednesdai", "thursdai", "fridai", "saturdai", "sundai",
)  # fmt: skip
# Stop words that are also first names, in the case that spells them alike: Георгия and
# Georgia, Герман and German, Германа. Directly before a surname they are first names.
_ALSO_FIRST_NAMES: Final = frozenset({"georgia", "german", "germana"})
# Officials named in many stories, by their surname's key prefix, with their first names (the
# nominative: a case form's key starts with its key, Ильхама with ilham).
_OFFICIALS: Final = {
    "putin": ("Владимир", "Володимир", "Vladimir", "Volodymyr"),
    "lukashenk": ("Александр", "Олександр", "Аляксандр", "Alexander", "Aleksandr", "Alyaksandr"),
    "tokaev": ("Касым-Жомарт", "Қасым-Жомарт", "Kassym-Jomart", "Kasym-Zhomart"),
    "japarov": ("Садыр", "Sadyr"),
    "shaparov": ("Садыр", "Sadyr"),
    "mirzi": ("Шавкат", "Shavkat"),
    "rahmon": ("Эмомали", "Имомали", "Emomali"),
    "pashinian": ("Никол", "Nikol"),
    "erdogan": ("Реджеп", "Тайип", "Recep", "Tayyip"),
    "aliev": ("Ильхам", "Гейдар", "Мехрибан", "Ilham", "Heydar", "Mehriban"),
    "kadirov": ("Рамзан", "Ахмат", "Ахмад", "Адам", "Ramzan", "Akhmat", "Akhmad", "Adam"),
    "vucic": ("Александр", "Aleksandar", "Aleksandr"),
    "vuchich": ("Александр", "Aleksandar", "Aleksandr"),
    "zelensk": ("Владимир", "Володимир", "Елена", "Олена", "Volodymyr", "Vladimir", "Olena"),
    "trump": ("Дональд", "Donald"),
    "tramp": ("Дональд", "Donald"),
    "biden": ("Джозеф", "Joe", "Joseph"),
}
_OFFICIAL_PREFIXES: Final = tuple(_OFFICIALS)
_OFFICIAL_FIRST_NAMES: Final = {
    surname: tuple(key for name in names if (key := name_key(name)) is not None)
    for surname, names in _OFFICIALS.items()
}
# Too short to be prefixes without stopping real surnames (Martynov, Osipov, Maiorov).
_STOP_KEYS: Final = frozenset(
    {"marta", "march", "mart", "june", "juli", "mai", "osh", "oshe", "baku", "riga", "mvd",
     "fsb", "gknb", "knb", "oae", "sng", "nato", "oon", "ovd", "mid", "novi", "sad", "asia",
     "asii", "azii", "eu", "ceo", "oral", "kiv", "oshko", "oshto", "oshtun", "oshi", "oshu",
     # the United Arab Emirates' genitive (Объединённых Арабских Эмиратов) ends like a
     # surname past the stem emirat; Jehovah's (свидетели Иеговы) like one in -ов
     "emiratov", "obedinenih", "egov"}
)  # fmt: skip


@lru_cache(maxsize=STOP_CACHE)  # asked of each capitalised word of every entry
def is_stop_key(key: str) -> bool:
    """Whether a name key is a place, an institution, a month or an official who appears in
    every other story (rule 4), not a person a report is about, when nothing else is known."""
    if key in _STOP_KEYS or key.startswith(_OTHER_PREFIXES) or key.startswith(_OFFICIAL_PREFIXES):
        return True
    return any(key.startswith(place) and not _surname_past(key, place) for place in _PLACE_PREFIXES)


def _surname_past(key: str, place: str) -> bool:
    if place.endswith("v") and key == place + "in":
        return True
    return _SURNAME_PAST_A_PLACE.fullmatch(key, len(place)) is not None


def is_also_first_name(key: str) -> bool:
    """Whether a stop word's key is also a first name's (Георгия, Германа): directly before a
    surname, it is that."""
    return key in _ALSO_FIRST_NAMES


def is_stop_name(key: str, first: str | None) -> bool:
    """`is_stop_key`, told the key of the first name directly before the word (None: none, or
    a word that cannot be one): an official's surname after another first name is that
    person's (Шерзод Алиев), no stop word."""
    names = official_first_names(key)
    if names is None or first is None or is_stop_key(first):
        return is_stop_key(key)
    return first.startswith(names)


@lru_cache(maxsize=STOP_CACHE)
def official_first_names(key: str) -> tuple[str, ...] | None:
    """The first names (key prefixes) of the official whose surname `key` is, or None."""
    for surname, names in _OFFICIAL_FIRST_NAMES.items():
        if key.startswith(surname):
            return names
    return None
