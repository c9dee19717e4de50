"""Text fingerprints for finding near-duplicate reports: MinHash over lemmatised word shingles.

The spec:
- Text: title and summary, folded (`bot.words.fold`), split into words; stop words and
  words shorter than 3 letters are dropped; every other word becomes its dictionary form
  (pymorphy3 for Russian/Ukrainian, Snowball for Latin script), so "выдал"/"выдала"/"выдан" and
  "extradited"/"extradites" meet. Shingles are pairs of consecutive lemmas (single lemmas when
  a text has fewer than `MIN_SHINGLES` pairs).
- Signature: one-permutation MinHash with `BINS` bins (each shingle is hashed once with BLAKE2b;
  its top bits choose the bin, the bin keeps the smallest value), empty bins filled from the
  next non-empty bin to the right with an offset (rotation densification, Shrivastava & Li
  2014). The share of equal bins estimates the Jaccard similarity of the two shingle sets.
- LSH: `BANDS` bands of `ROWS` bins, each band hashed to one 63-bit integer. Two texts with
  Jaccard similarity s share at least one band with probability 1 - (1 - s^2)^16: 0.99 at
  s = 0.5, 0.48 at s = 0.2, 0.006 at s = 0.02. The storage keeps the bands in an index table,
  so finding candidates is an index lookup, not a scan.
- `TEXT_THRESHOLD` (0.5): at or above it two texts are the same report (a re-publication, an
  aggregator's copy, an edited headline). Rewrites by another outlet score lower; they meet
  through the people they name instead (`bot.merge`).

`Fingerprinter` holds the lemmatizer and a bounded per-word cache; the functions are pure.
"""

from __future__ import annotations

import hashlib
import itertools
import operator
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from bot.people import NamedPeople, named_people
from bot.relevance.text import Lemmatizer, WordCache
from bot.words import EntryText, is_cyrillic, is_latin

BINS: Final = 32
ROWS: Final = 2  # bands() is unrolled for two rows
BANDS: Final = BINS // ROWS
TEXT_THRESHOLD: Final = 0.5
MIN_SHINGLES: Final = 3
MIN_WORD: Final = 3
CACHE_MAX: Final = 100_000

_BIN_SHIFT: Final = 64 - 5  # top 5 bits choose one of 32 bins
_VALUE_MASK: Final = (1 << 32) - 1
_DENSIFY_OFFSET: Final = 0x9E3779B1
_MIX: Final = 0x9E3779B97F4A7C15
_MASK63: Final = (1 << 63) - 1
_PACK: Final = struct.Struct(f"<{BINS}I")
_STOP_TEXT: Final = """
    и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
    ее её мне было вот от меня еще ещё нет о из ему теперь когда даже ну вдруг ли если уже или
    ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
    есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
    тогда кто этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее
    сейчас были куда зачем всех никогда можно при наконец два об другой хоть после над больше
    тот через эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой
    перед иногда лучше чуть том нельзя такой им более всегда конечно всю между это также
    which що та це як на по до за від із та але the and for that with from this was were
    has have had are been his her their its into after over also who whom said says will
    would about than then they them he she it of to in on at by as an be or not but"""
_STOP_WORDS: Final = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What merging knows about one entry's text: its MinHash and the people it names."""

    signature: tuple[int, ...]  # BINS values, or () for a text without words
    names: frozenset[str]
    first_names: frozenset[str] = frozenset()  # `bot.people.NamedPeople.first_names`
    bands: tuple[int, ...] = field(init=False)  # its LSH bands, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", bands(self.signature))

    def pack(self) -> bytes | None:
        return _PACK.pack(*self.signature) if self.signature else None


def unpack(blob: bytes | None) -> tuple[int, ...]:
    return () if blob is None else tuple(_PACK.unpack(blob))


class Fingerprinter:
    """Builds fingerprints; keep one per process (the lemma cache is what makes it fast)."""

    def __init__(self, lemmatizer: Lemmatizer | None = None) -> None:
        self._lemmatizer = lemmatizer or Lemmatizer()
        # word -> its lemma, or "" for a word that does not count (a stop word, too short, a
        # number)
        self._cache = WordCache(self._content_lemma, CACHE_MAX)

    def fingerprint(self, title: str, summary: str, lang: str | None = None) -> Fingerprint:
        return self.fingerprint_text(EntryText.of(title, summary, lang), title, summary)

    def fingerprint_text(
        self, text: EntryText, title: str, summary: str, people: NamedPeople | None = None
    ) -> Fingerprint:
        """`fingerprint` of an entry already split into words. The people come from the
        unfolded title and summary, whose capitals they need, unless `people` gives them
        (`named_people` of the same title and summary, worked out elsewhere)."""
        lemmas = [lemma for lemma in self._cache.many(text.words, text.morph) if lemma]
        if people is None:
            people = named_people(title, summary)
        return Fingerprint(minhash(shingles(lemmas)), people.keys, people.first_names)

    def _content_lemma(self, word: str, morph: str | None) -> str:
        return self._lemma(word, morph) if _content(word) else ""

    def _lemma(self, word: str, morph: str | None) -> str:
        if is_latin(word):
            return self._lemmatizer.stem_latin(word)
        if morph is not None and is_cyrillic(word):
            forms = self._lemmatizer.forms(word, morph)
            return forms[1] if len(forms) > 1 else word
        return word


def _content(word: str) -> bool:
    return len(word) >= MIN_WORD and word not in _STOP_WORDS and not word.isdigit()


def shingles(lemmas: Sequence[str]) -> set[str]:
    pairs = {f"{a} {b}" for a, b in itertools.pairwise(lemmas)}
    return pairs if len(pairs) >= MIN_SHINGLES else pairs | set(lemmas)


def minhash(items: Iterable[str]) -> tuple[int, ...]:
    """One-permutation MinHash with rotation densification; () when there is nothing."""
    mins: list[int | None] = [None] * BINS
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes  # this loop runs for every shingle
    for item in items:
        h = from_bytes(blake2b(item.encode(), digest_size=8).digest(), "little")
        slot, value = h >> _BIN_SHIFT, h & _VALUE_MASK
        current = mins[slot]
        if current is None or value < current:
            mins[slot] = value
    if mins.count(None) == BINS:
        return ()
    # Each empty bin takes the next non-empty one to its right (wrapping round), plus an offset
    # per step: one walk leftwards over the ring twice carries the nearest one along.
    out = [0] * BINS
    found, at = 0, 0
    for position in range(2 * BINS - 1, -1, -1):
        stored = mins[position % BINS]
        if stored is not None:
            found, at = stored, position
        if position < BINS:
            out[position] = (found + (at - position) * _DENSIFY_OFFSET) & _VALUE_MASK
    return tuple(out)


def similarity(a: Sequence[int], b: Sequence[int]) -> float:
    """Estimated Jaccard similarity of the two shingle sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    if len(a) != len(b):
        raise ValueError("signatures of different lengths")
    equal: int = sum(map(operator.eq, a, b))
    return equal / BINS


def bands(signature: Sequence[int]) -> tuple[int, ...]:
    """The LSH band keys of a signature: one signed-64-bit-safe integer per band."""
    if not signature:
        return ()
    # Unrolled for ROWS == 2 (every signature's 16 bands are hashed on the save path):
    # value = 0; for row: value = ((value ^ row) * _MIX) & _MASK63; then mix in the band.
    rows = iter(signature)
    return tuple(
        (((((first * _MIX) & _MASK63 ^ second) * _MIX & _MASK63) ^ band) * _MIX) & _MASK63
        for band, (first, second) in enumerate(zip(rows, rows, strict=True))
    )
