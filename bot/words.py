"""Words: the text normalisation every part that reads entries shares, with no dictionaries.

Every side goes through `fold` and `WORD_RE`, so a term written in the lexicon and a word in a
feed entry meet in the same form: composed (NFC: "й" written as и + breve, as macOS and PDFs
leave it, is "й"), lower case, "ё" as "е", apostrophes dropped (Uzbek o‘zbek, Ukrainian пʼять,
English Russia's), and so are the invisible marks publishing systems and writers leave inside
words (soft hyphens, zero-width spaces and joiners, the stress marks: acute or grave, and the
grave composed in ѐ, ѝ), the Turkish dotted İ as i. Fold before splitting (`unbroken` keeps
the case, for names). Words are runs of Unicode letters and digits; a hyphen splits (Нур-Султан
is two words). Sentences end at . ! ? … followed by space, or a line break. The regular
expressions here are fixed and linear; user terms never become regexes.

`EntryText` is an entry split into words once for every part that reads it. Nothing here needs
a dictionary or a C extension (dictionary forms are `bot.relevance.text.Lemmatizer`), so the
classifier and the fingerprint can share it without loading either.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import chain
from typing import Final, NamedTuple

WORD_RE: Final = re.compile(r"\w+")
SENTENCE_END_RE: Final = re.compile(r"(?<=[.!?…])\s+|\n+")
# Apostrophes, then soft hyphen, zero-width space, non-joiner, joiner, word joiner, BOM and the
# combining acute and grave (stress marks): none of them ends a word. Composed, the grave is a
# letter of its own in ѐ and ѝ (Bulgarian, Macedonian), which Russian text means as е and и.
_DROPPED: Final = {
    **dict.fromkeys(map(ord, "'’ʼʻ‘`´\u00ad\u200b\u200c\u200d\u2060\ufeff\u0300\u0301"), None),
    **{ord(grave): plain for grave, plain in zip("ѐѝЀЍ", "еиЕИ", strict=True)},
}
_FOLD: Final = {**_DROPPED, ord("ё"): "е", ord("Ё"): "е", ord("İ"): "i"}
_NEEDS_FOLD: Final = re.compile("[" + re.escape("".join(map(chr, _FOLD))) + "]")
# What `_DROPPED` drops but the apostrophes, which a name keeps (Дем'ян, O'Brien, Bazhukov's).
_MARKS: Final = {k: v for k, v in _DROPPED.items() if chr(k) not in "'’ʼʻ‘`´"}
_HAS_MARK: Final = re.compile("[" + re.escape("".join(map(chr, _MARKS))) + "]")

# Letters that mark a Cyrillic text as not Russian/Ukrainian (Kazakh, Kyrgyz, Tajik, Uzbek,
# Serbian, Belarusian ў): such texts get no pymorphy3 lemmas, only surface and prefix matches.
_TURKIC_IRANIAN_SLAVIC: Final = frozenset("әғқңөұүһӯҷҳўјљњћђџ")
_UKRAINIAN: Final = frozenset("іїєґ")
_LANG_TO_MORPH: Final = {"ru": "ru", "uk": "uk", "be": "ru", "ru-ru": "ru", "uk-ua": "uk"}


def fold(text: str) -> str:
    """Lower-case and unify the spellings that differ between outlets."""
    text = composed(text)
    # str.translate looks up every character in a dict; most texts hold none of the few it
    # changes, and a regex scan for them is four times cheaper (every entry is folded twice).
    return text.translate(_FOLD).lower() if _NEEDS_FOLD.search(text) else text.lower()


def unbroken(text: str) -> str:
    """`text` without what `fold` drops inside words, its case kept: to split a text whose
    capitals matter (names) where `fold` would."""
    text = composed(text)
    return text.translate(_DROPPED) if _NEEDS_FOLD.search(text) else text


def unmarked(text: str) -> str:
    """`text` without the marks that `fold` drops inside words but apostrophes (soft hyphens,
    zero-width characters, stress marks), its case kept: to read names, whose capitals and
    apostrophes matter, in a composed text. Зуйкова hyphenated by a CMS is one word again."""
    # A CMS hyphenating long words, or an outlet marking stress in a name, would otherwise
    # split a surname into pieces too short to be one.
    return text.translate(_MARKS) if _HAS_MARK.search(text) else text


def composed(text: str) -> str:
    """`text` in Unicode's composed form (NFC): "й", not и + a combining breve."""
    # Feed text is composed as it is read (`bot.html_text.plain_text`), stories stored before
    # were not. On composed text this is a quick check in C that returns `text` itself (an
    # eighth of what `fold` costs); `unicodedata.is_normalized` first was slower, not faster.
    return unicodedata.normalize("NFC", text)


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
