"""Compile lexicon terms into lookup tables and find them in tokenised sentences.

No regular expressions: each distinct term word becomes a *unit* (whole word or prefix). A token
maps to the set of units it satisfies through two dict lookups per form (lemma, stem, surface)
and one per prefix length; that set is cached per word, so a warm classifier mostly does one
dict lookup per token. Phrases are then checked unit by unit from their first word, allowing up
to `MAX_GAP` tokens between consecutive words ("отказали ему в убежище").
"""

from __future__ import annotations

from typing import Final, NamedTuple

from bot.relevance.lexicon import Lexicon, Term
from bot.relevance.text import Lemmatizer, WordCache
from bot.words import is_latin

MAX_GAP: Final = 3
CACHE_LIMIT: Final = 200_000
_NONE: Final[tuple[int, ...]] = ()


class Hit(NamedTuple):
    """One term occurrence (a tuple: a classified entry makes about ten of them)."""

    term: Term
    sentence: int  # 0 is the title, 1 the lead (first summary sentence), then the rest
    start: int  # token index in the sentence
    end: int  # index of the last token of the match
    text: str  # the matched words as they appear (folded)


class TokenIndex:
    """Terms compiled to units; per-instance bounded cache of word -> units."""

    def __init__(self, lexicon: Lexicon, lemmatizer: Lemmatizer) -> None:
        self._lemmatizer = lemmatizer
        self._units: dict[tuple[bool, str], int] = {}
        self._whole: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        # By the unit of a term's first word: the term, its units, and the units after the
        # first (a phrase whose other words are nowhere in the sentence is not looked for).
        self._first: dict[int, list[tuple[Term, tuple[int, ...], frozenset[int]]]] = {}
        for term in lexicon.terms:
            ids = tuple(self._unit(word.prefix, word.text) for word in term.words)
            self._first.setdefault(ids[0], []).append((term, ids, frozenset(ids[1:])))
        lengths = [len(text) for text in self._prefix] or [0]
        self._min_prefix, self._max_prefix = min(lengths), max(lengths)
        self._cache = WordCache(self._compute, CACHE_LIMIT)

    def _unit(self, prefix: bool, text: str) -> int:
        if not prefix and is_latin(text):
            text = self._lemmatizer.stem_latin(text)
        key = (prefix, text)
        unit = self._units.get(key)
        if unit is None:
            unit = self._units[key] = len(self._units)
            (self._prefix if prefix else self._whole).setdefault(text, []).append(unit)
        return unit

    def units(self, word: str, morph: str | None) -> tuple[int, ...]:
        return self._cache.get(word, morph)

    def _compute(self, word: str, morph: str | None) -> tuple[int, ...]:
        ids: set[int] = set()
        for form in self._lemmatizer.forms(word, morph):
            ids.update(self._whole.get(form, _NONE))
        for length in range(self._min_prefix, min(len(word), self._max_prefix) + 1):
            ids.update(self._prefix.get(word[:length], _NONE))
        return tuple(sorted(ids)) if ids else _NONE

    def match(self, sentence: int, words: list[str], morph: str | None) -> list[Hit]:
        """Every term occurrence in one sentence (overlaps allowed; scoring sorts them out)."""
        units = self._cache.many(words, morph)
        hits: list[Hit] = []
        present: set[int] | None = None  # every unit of the sentence, once a phrase needs it
        for start, found in enumerate(units):
            for unit in found:
                for term, ids, rest in self._first.get(unit, ()):
                    if len(ids) == 1:  # most terms are one word
                        hits.append(Hit(term, sentence, start, start, words[start]))
                        continue
                    if present is None:
                        present = set().union(*units)
                    if not rest <= present:  # cheaper than looking for it word by word
                        continue
                    end = self._phrase_end(units, start, ids)
                    if end >= 0:
                        text = " ".join(words[start : end + 1])
                        hits.append(Hit(term, sentence, start, end, text))
        return hits

    @staticmethod
    def _phrase_end(units: list[tuple[int, ...]], start: int, ids: tuple[int, ...]) -> int:
        position = start
        for unit in ids[1:]:
            limit = min(len(units), position + MAX_GAP + 2)
            for candidate in range(position + 1, limit):
                if unit in units[candidate]:
                    position = candidate
                    break
            else:
                return -1
        return position

    @property
    def cache_size(self) -> int:
        return len(self._cache)
