"""Text normalisation shared by the lexicon compiler and the classifier.

Both sides go through `fold` and `WORD_RE`, so a term written in the lexicon and a word in a feed
entry meet in the same form: lower case, "ё" as "е", apostrophes dropped (Uzbek o‘zbek, Ukrainian
пʼять, English Russia's), the Turkish dotted İ as i. Words are runs of Unicode letters and digits;
a hyphen splits (Нур-Султан is two words). Sentences end at . ! ? … followed by space, or a line
break. The regular expressions here are fixed and linear; user terms never become regexes.

`Lemmatizer` adds dictionary forms: pymorphy3 for Russian and Ukrainian, Snowball for Latin-script
words (the English stemmer; harmless for Turkish or Uzbek, whose terms are prefixes anyway). It
loads each pymorphy3 analyzer on first use. Keep one per process and hand it to every part that
lemmatises (classifier, fingerprints, search forms, watchlists): each analyzer costs ~15 MB, and
the shared cache means a word is analysed once, not once per part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Final, Generic, NamedTuple, TypeVar

import Stemmer

_FORMS_CACHE_MAX: Final = 100_000
WORD_RE: Final = re.compile(r"\w+")
SENTENCE_END_RE: Final = re.compile(r"(?<=[.!?…])\s+|\n+")
_APOSTROPHES: Final = dict.fromkeys(map(ord, "'’ʼʻ‘`´"), None)
_FOLD: Final = {**_APOSTROPHES, ord("ё"): "е", ord("Ё"): "е", ord("İ"): "i"}
_NEEDS_FOLD: Final = re.compile("[" + re.escape("".join(map(chr, _FOLD))) + "]")

# Letters that mark a Cyrillic text as not Russian/Ukrainian (Kazakh, Kyrgyz, Tajik, Uzbek,
# Serbian, Belarusian ў): such texts get no pymorphy3 lemmas, only surface and prefix matches.
_TURKIC_IRANIAN_SLAVIC: Final = frozenset("әғқңөұүһӯҷҳўјљњћђџ")
_UKRAINIAN: Final = frozenset("іїєґ")
_LANG_TO_MORPH: Final = {"ru": "ru", "uk": "uk", "be": "ru", "ru-ru": "ru", "uk-ua": "uk"}

T = TypeVar("T")


def fold(text: str) -> str:
    """Lower-case and unify the spellings that differ between outlets."""
    # str.translate looks up every character in a dict; most texts hold none of the few it
    # changes, and a regex scan for them is four times cheaper (every entry is folded twice).
    return text.translate(_FOLD).lower() if _NEEDS_FOLD.search(text) else text.lower()


def sentences(text: str) -> list[str]:
    """Split folded text into sentences (never empty strings)."""
    return [part for part in SENTENCE_END_RE.split(text) if part and not part.isspace()]


def is_cyrillic(word: str) -> bool:
    """Whether a (folded) word starts with a Cyrillic letter; False for ""."""
    first = word[:1]
    return bool(first) and ("а" <= first <= "я" or first in "іїєґәғқңөұүһӯҷҳўј")


def is_latin(word: str) -> bool:
    """Whether a (folded) word starts with a Latin letter; False for ""."""
    first = word[:1]
    return bool(first) and ((first.isascii() and first.isalpha()) or first in "çğışöüəñ")


def morph_language(lang: str | None, folded_text: str) -> str | None:
    """Which pymorphy3 dictionary suits this entry: "ru", "uk" or None (no morphology)."""
    if lang:
        code = lang.strip().lower()
        return _LANG_TO_MORPH.get(code, _LANG_TO_MORPH.get(code.split("-")[0]))
    letters = set(folded_text)
    if letters & _TURKIC_IRANIAN_SLAVIC:
        return None
    if letters & _UKRAINIAN:
        return "uk"
    return "ru"


class EntryText(NamedTuple):
    """One entry's title and summary, folded and split into words once for every part that
    reads them (the classifier by sentence, the fingerprint as one run of words). A tuple, not
    a dataclass: one is made for every entry judged, and a tuple is made in less than half the
    time of a frozen dataclass."""

    morph: str | None  # see morph_language
    sentences: list[list[str]]  # the title's words, then each summary sentence's

    @classmethod
    def of(cls, title: str, summary: str, lang: str | None) -> EntryText:
        title_text, summary_text = fold(title), fold(summary)
        morph = morph_language(lang, title_text + " " + summary_text)
        # Sentences end at whitespace, which no word contains: splitting first loses no word.
        words = WORD_RE.findall
        return cls(morph, [words(title_text), *[words(part) for part in sentences(summary_text)]])

    @property
    def words(self) -> list[str]:
        """Every word, title first: the same as WORD_RE over the folded "title\\nsummary"."""
        return list(chain.from_iterable(self.sentences))


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
    """Dictionary forms of one folded word; pymorphy3 loads lazily, once per language.

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
                str(getattr(parse, "normal_form", "")).replace("ё", "е")
                for parse in self._parse(morph)(word)
            )
        return tuple(dict.fromkeys(out))

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
