"""Watchlists: does a feed entry mention a name or phrase that a chat follows? Pure matching.

The rules (this docstring is the spec):
- A watch is a name or a phrase of 1 to `MAX_WORDS` words (runs of letters and digits), at most
  `MAX_PHRASE` characters; at most `MAX_ENTRIES` per chat.
- Every word becomes keys: its surname key (`bot.names.name_key`: Бажуков, Бажукову, Bazhukov
  and Baschukow share one) or, for words that are no name (short, with digits), the folded word;
  plus, for a Cyrillic word, the same keys of its dictionary forms
  (`bot.relevance.text.Lemmatizer`: свидетелей -> свидетель) so that phrases match in any case
  form. A Latin word has no other form: the English stem would make Roberts Robert and Hasanli
  Hasan. Only a text's Latin word ending in -s also reads as the word without it, since folding
  drops the apostrophe of a possessive (Bazhukov's): a watch of "political prisoner" meets
  "political prisoners" (and one of Robert meets Roberts), one of Roberts no Robert. A word of
  a text that is neither Russian nor Ukrainian (`bot.words.morph_language` None: Kazakh,
  Kyrgyz) also has its `bot.names.kazakh_kyrgyz_key` (Журавлевке: "to Zhuravlev", which in
  Russian is "in Zhuravlevka"). A surname made from a first name is not
  read as that name's plural: a watch of Павлов does not meet every Павел. A watched word that
  reads as a surname keeps only its surname forms: a watch of Романов does not meet every
  "роман" (novel, or the first name), nor Волков every "волк". (The text's own word Романов
  stays ambiguous: "нет романов" still meets a watch of Романов.)
- An entry (title and summary) mentions a watch when its words, in order and adjacent, share a
  key with each of the watch's words. Matching ignores the relevance verdict: a watched name is
  alerted even in an entry the classifier thinks is off-topic.
- The alert says which of the chat's watches its story mentions (`mentioned`), so someone who
  follows fifty names knows why it came.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.names import kazakh_kyrgyz_key, name_key
from bot.relevance.text import Lemmatizer, WordCache
from bot.words import WORD_RE, EntryText, fold, is_cyrillic, is_latin, morph_language

MAX_ENTRIES: Final = 50
MAX_WORDS: Final = 6
MAX_PHRASE: Final = 100
_CACHE_MAX: Final = 50_000


@dataclass(frozen=True, slots=True)
class WatchTerm:
    """One watchlist row: whose it is and the phrase as typed."""

    chat_id: int
    phrase: str


def phrase_words(phrase: str) -> list[str] | None:
    """The words of a phrase someone typed, or None if it is not a usable watch."""
    if len(phrase) > MAX_PHRASE:
        return None
    words = WORD_RE.findall(fold(phrase))
    return words if 1 <= len(words) <= MAX_WORDS and any(len(w) >= 3 for w in words) else None


def word_key(word: str) -> str:
    return name_key(word) or fold(word)


def phrase_key(phrase: str) -> str | None:
    """The stored identity of a watch: two spellings of one name are one watch."""
    words = phrase_words(phrase)
    return None if words is None else " ".join(word_key(w) for w in words)


class Watcher:
    """Matches entries against watch terms; keeps a bounded cache of each word's keys, so keep
    one per process. `index()` prepares the terms of one refresh."""

    def __init__(self, lemmatizer: Lemmatizer | None = None) -> None:
        self._lemmatizer = lemmatizer or Lemmatizer()
        self._cache = WordCache(self._keys, _CACHE_MAX)
        # A chat's watches are indexed again for every alert drawn for it (`bot.delivery_calls`).
        self._phrase_cache = WordCache(self._phrase_word_keys, _CACHE_MAX)

    def index(self, terms: Iterable[WatchTerm]) -> WatchIndex:
        by_first: dict[str, list[tuple[WatchTerm, list[frozenset[str]]]]] = {}
        for term in terms:
            words = phrase_words(term.phrase)
            if not words:
                continue
            keys = [self._phrase_cache.get(w, morph_language(None, w)) for w in words]
            for first in keys[0]:
                by_first.setdefault(first, []).append((term, keys))
        return WatchIndex(self, by_first)

    def keys(self, word: str, morph: str | None) -> frozenset[str]:
        """The keys of one folded word: its own and those of its dictionary forms."""
        return self._cache.get(word, morph if is_cyrillic(word) else None)

    def _phrase_word_keys(self, word: str, morph: str | None) -> frozenset[str]:
        # A watched word names someone: Романов does not meet "роман" nor Волков "волк" (see
        # the module docstring).
        return _keys_of(self._lemmatizer.name_forms, word, morph)

    def _keys(self, word: str, morph: str | None) -> frozenset[str]:
        keys = _keys_of(self._lemmatizer.forms, word, morph)
        if is_latin(word) and word.endswith("s"):
            return keys | {word_key(word[:-1])}  # Bazhukov's, folded
        other = kazakh_kyrgyz_key(word) if morph is None and is_cyrillic(word) else None
        return keys | {other} if other else keys


def _keys_of(
    forms_of: Callable[[str, str | None], tuple[str, ...]], word: str, morph: str | None
) -> frozenset[str]:
    forms = forms_of(word, morph) if is_cyrillic(word) else (word,)
    return frozenset(word_key(form) for form in forms if form)


class WatchIndex:
    """The watch terms of one refresh, by the keys of their first word."""

    def __init__(
        self, watcher: Watcher, by_first: dict[str, list[tuple[WatchTerm, list[frozenset[str]]]]]
    ) -> None:
        self._watcher = watcher
        self._by_first = by_first

    def __bool__(self) -> bool:
        return bool(self._by_first)

    def chats_mentioned(self, text: EntryText) -> frozenset[int]:
        return frozenset(term.chat_id for term in self.mentioned(text))

    def mentioned(self, text: EntryText) -> list[WatchTerm]:
        """The watches an entry's text (`EntryText.of(title, summary, lang)`: the words the
        judging has split already) mentions, each once, in the order they first occur. A
        phrase is matched within one sentence (the title is one): "свидетель Иван. Иванов
        не явился" does not name Иван Иванов."""
        if not self._by_first:
            return []
        found: dict[WatchTerm, None] = {}
        for sentence in text.sentences:
            tokens = [self._watcher.keys(word, text.morph) for word in sentence]
            for i, token in enumerate(tokens):
                for key in token:
                    for term, words in self._by_first.get(key, ()):
                        if term not in found and _occurs_at(words, tokens, i):
                            found[term] = None
        return list(found)


def _occurs_at(
    needle: Sequence[frozenset[str]], haystack: Sequence[frozenset[str]], start: int
) -> bool:
    if start + len(needle) > len(haystack):
        return False
    return all(needle[j] & haystack[start + j] for j in range(len(needle)))


def terms_of(rows: Iterable[tuple[int, str]]) -> list[WatchTerm]:
    return [WatchTerm(chat_id, phrase) for chat_id, phrase in rows]
