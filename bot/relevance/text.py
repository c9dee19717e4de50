"""Dictionary forms and word caches for every part that lemmatises.

`Lemmatizer` adds dictionary forms to the words of `bot.words`: pymorphy3 for Russian and
Ukrainian, Snowball for Latin-script words (the English stemmer; harmless for Turkish or Uzbek,
whose terms are prefixes anyway). It loads each pymorphy3 analyzer on first use. Keep one per
process and hand it to every part that lemmatises (classifier, fingerprints, search forms,
watchlists): each analyzer costs ~15 MB, and the shared cache means a word is analysed once, not
once per part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, Generic, TypeVar

import Stemmer

from bot.words import is_cyrillic, is_latin

_FORMS_CACHE_MAX: Final = 100_000

T = TypeVar("T")


class WordCache(Generic[T]):
    """word -> what `compute(word, morph)` derives from it (never None), kept per morphology
    language in plain dicts: a str key is the cheapest lookup, and this runs for every word of
    every entry. Bounded: once it holds `limit` words in all, it starts over (the hot words
    come back within a cycle). Safe to share between threads under the GIL: every access is
    one dict operation, and a lost race only computes a word twice."""

    def __init__(self, compute: Callable[[str, str | None], T], limit: int) -> None:
        self._compute = compute
        self._limit = limit
        self._tables: dict[str | None, dict[str, T]] = {}
        self._size = 0

    def get(self, word: str, morph: str | None) -> T:
        table = self._table(morph)
        found = table.get(word)
        return found if found is not None else self._fill(table, word, morph)

    def many(self, words: Iterable[str], morph: str | None) -> list[T]:
        table = self._table(morph)
        return [
            found if (found := table.get(w)) is not None else self._fill(table, w, morph)
            for w in words
        ]

    def __len__(self) -> int:
        return sum(len(table) for table in self._tables.values())

    def _table(self, morph: str | None) -> dict[str, T]:
        table = self._tables.get(morph)
        if table is None:
            table = self._tables[morph] = {}
        return table

    def _fill(self, table: dict[str, T], word: str, morph: str | None) -> T:
        if self._size >= self._limit:
            for each in self._tables.values():
                each.clear()
            self._size = 0
        found = table[word] = self._compute(word, morph)
        self._size += 1
        return found


class Lemmatizer:
    """Dictionary forms of one folded word; pymorphy3 loads lazily, once per language. A
    surname's reading as the plural of the first name it was made from is not one of them.

    `forms` keeps a bounded cache (`WordCache`): the callers cache what they derive from the
    forms (a match, a lemma, index terms), but several callers ask for the same words, and the
    pymorphy3 analysis is the expensive part. Used from the event loop and the database thread.
    """

    def __init__(self) -> None:
        self._analyzers: dict[str, Callable[[str], list[object]]] = {}
        self._stemmer = Stemmer.Stemmer("english")
        self._cache = WordCache(self._forms, _FORMS_CACHE_MAX)

    def forms(self, word: str, morph: str | None) -> tuple[str, ...]:
        """The word itself first, then its lemmas (ru/uk) or its English stem (Latin)."""
        return self._cache.get(word, morph)

    def _forms(self, word: str, morph: str | None) -> tuple[str, ...]:
        out = [word]
        if is_latin(word):
            out.append(self.stem_latin(word))
        elif morph is not None and is_cyrillic(word):
            out.extend(
                _lemma(parse)
                for parse in self._parse(morph)(word)
                if not _plural_of_a_first_name(parse)
            )
        return tuple(dict.fromkeys(out))

    def name_forms(self, word: str, morph: str | None) -> tuple[str, ...]:
        """`forms` of a word known to name someone (a watched word, a search query's): one that
        reads as a surname keeps only its surname lemmas (Романова -> романов), since there its
        other readings (Романов as "of novels", Волков as "of wolves") are only noise. Not
        cached here: its callers cache what they derive from it."""
        if morph is None or not is_cyrillic(word):
            return self.forms(word, morph)
        parses = self._parse(morph)(word)
        surnames = [_lemma(parse) for parse in parses if _singular_surname(parse)]
        return tuple(dict.fromkeys((word, *surnames))) if surnames else self.forms(word, morph)

    def reads_as_name(self, word: str, morph: str | None) -> bool:
        """Whether any reading of a (folded) word is a surname, a first name or a patronymic:
        Германов, Китаев, Арестович, whose stems or prefixes are also a country's or an
        action's."""
        if morph is None or not is_cyrillic(word):
            return False
        return any(_names_someone(parse) for parse in self._parse(morph)(word))

    def stem_latin(self, word: str) -> str:
        return str(self._stemmer.stemWord(word))

    def _parse(self, morph: str) -> Callable[[str], list[object]]:
        parse = self._analyzers.get(morph)
        if parse is None:
            import pymorphy3  # noqa: PLC0415  # 0.1 s and ~15 MB per language: load on first use

            parse = pymorphy3.MorphAnalyzer(lang=morph).parse
            self._analyzers[morph] = parse
        return parse

    @property
    def loaded_languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._analyzers))


def _plural_of_a_first_name(parse: object) -> bool:
    """A surname made from a first name (Павлов, Сергеев, Иванов) also reads as that name's
    plural ("нет Павлов"), which the news never means: taken, every Павлов would meet every Павел
    in watchlists, searches and fingerprints."""
    tag = getattr(parse, "tag", None)
    return tag is not None and "Name" in tag and "plur" in tag


def _singular_surname(parse: object) -> bool:
    # Not "sing" in tag: the Ukrainian dictionaries leave a surname's number unmarked.
    tag = getattr(parse, "tag", None)
    return tag is not None and "Surn" in tag and "plur" not in tag


def _names_someone(parse: object) -> bool:
    tag = getattr(parse, "tag", None)
    return tag is not None and ("Surn" in tag or "Name" in tag or "Patr" in tag)


def _lemma(parse: object) -> str:
    return str(getattr(parse, "normal_form", "")).replace("ё", "е")
