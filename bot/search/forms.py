"""Word forms shared by the index and the query, so both sides meet on the same tokens.

For every word of a story the index stores, besides the text itself, the forms a searcher may
type in another shape (the `title_terms` and `terms` columns of `search_fts`):
- Russian/Ukrainian words: their pymorphy3 lemmas (экстрадировали -> экстрадировать);
- Latin words: their English Snowball stem (extradited, extradition -> extradit);
- capitalised words (names, in either script): the Latin `name_key` (Бажукова, Bazhukov ->
  bashukov), so a name heard in Latin letters finds a story written in Cyrillic and back.
A query word is expanded the same way (its folded surface form, lemmas, stem and name key), and
any of them may match; one that reads as a surname keeps only its surname lemmas and name key
(Романов finds Романова, not every "роман"). Pure apart from the lazily loaded dictionaries; a
`Forms` is not thread-safe (one per task or thread).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from bot.names import name_key
from bot.relevance.text import Lemmatizer
from bot.words import WORD_RE, fold, is_cyrillic, morph_language, unbroken

CACHE_LIMIT: Final = 300_000
MIN_FORM: Final = 2
_UKRAINIAN: Final = frozenset("іїєґ")


class Forms:
    """Caches word -> forms (the vocabulary of news is small, so a warm index is dict lookups)."""

    def __init__(self, lemmatizer: Lemmatizer | None = None) -> None:
        self._lemmatizer = lemmatizer or Lemmatizer()
        self._cache: dict[tuple[str, str | None, bool, bool], tuple[str, ...]] = {}

    def variants(
        self, word: str, morph: str | None, *, capitalised: bool, query: bool = False
    ) -> tuple[str, ...]:
        """Forms of one folded word other than itself: lemmas or stem, and its name key. A
        query's word that reads as a surname keeps only its surname lemmas (nobody searches for
        "of novels"): `Lemmatizer.name_forms`."""
        key = (word, morph, capitalised, query)
        found = self._cache.get(key)
        if found is None:
            found = self._compute(word, morph, capitalised, query)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()  # bounded; the working set refills within one batch
            self._cache[key] = found
        return found

    def _compute(
        self, word: str, morph: str | None, capitalised: bool, query: bool
    ) -> tuple[str, ...]:
        lemmatizer = self._lemmatizer
        forms = set((lemmatizer.name_forms if query else lemmatizer.forms)(word, morph))
        if capitalised:
            forms.add(name_key(word) or word)
        forms.discard(word)
        return tuple(sorted(f for f in forms if len(f) >= MIN_FORM and f.isalnum()))

    def document_terms(self, texts: Iterable[str], lang: str | None) -> str:
        """The `terms` column of a story: every extra form of its words, once."""
        out: dict[str, None] = {}
        for text in texts:
            folded = fold(text)
            morph = morph_language(lang, folded)
            for match in WORD_RE.finditer(unbroken(text)):
                raw = match.group()
                capitalised = raw[:1].isupper() and len(raw) >= 3
                for form in self.variants(fold(raw), morph, capitalised=capitalised):
                    out[form] = None
        return " ".join(out)

    def query_forms(self, word: str) -> tuple[str, ...]:
        """A query word (folded): itself first, then every form the index may hold for it.

        People type names in lower case, so the name key is always added; Cyrillic words get
        Russian lemmas, and Ukrainian ones when the word has Ukrainian letters."""
        forms = [word]
        if is_cyrillic(word):
            morphs: tuple[str | None, ...] = ("ru", "uk") if _UKRAINIAN & set(word) else ("ru",)
        else:
            morphs = (None,)
        for morph in morphs:
            forms.extend(self.variants(word, morph, capitalised=True, query=True))
        return tuple(dict.fromkeys(forms))
