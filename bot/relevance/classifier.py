"""`Classifier`: the lexicon compiled once, then a pure `classify` per feed entry."""

from __future__ import annotations

from collections.abc import Mapping

from bot.model import Verdict
from bot.relevance.lexicon import Lexicon, load_lexicon
from bot.relevance.matcher import Hit, TokenIndex
from bot.relevance.scoring import decide
from bot.relevance.text import Lemmatizer
from bot.words import EntryText


class Classifier:
    """Decides whether a feed entry reports a forced return of a persecuted person.

    Build it with `from_extension`; it holds the compiled lexicon, lazily loaded pymorphy3
    analyzers and a bounded per-word cache, so keep one per process and reuse it. `classify`
    has no side effects other than warming that cache.
    """

    def __init__(self, lexicon: Lexicon, lemmatizer: Lemmatizer | None = None) -> None:
        self._lexicon = lexicon
        self._lemmatizer = lemmatizer or Lemmatizer()
        self._index = TokenIndex(lexicon, self._lemmatizer)

    @classmethod
    def from_extension(cls, extension: Mapping[str, object] | None = None) -> Classifier:
        """The built-in lexicon plus feeds.yaml's `lexicon:` mapping; ConfigError if it is bad."""
        return cls(load_lexicon(extension))

    def classify(self, title: str, summary: str, lang: str | None = None) -> Verdict:
        return self.classify_text(EntryText.of(title, summary, lang))

    def classify_text(self, text: EntryText) -> Verdict:
        """`classify` of an entry already split into words (sentence 0 is the title, even
        when empty, so the lead is always sentence 1)."""
        hits: list[Hit] = []
        for number, words in enumerate(text.sentences):
            if words:
                hits.extend(self._index.match(number, words, text.morph))
        return decide(hits, self._lexicon.roles, self._lexicon.issuance_window)

    @property
    def lexicon(self) -> Lexicon:
        return self._lexicon

    @property
    def lemmatizer(self) -> Lemmatizer:
        """Its lemmatizer, to share with the other parts that lemmatise (one per process)."""
        return self._lemmatizer

    @property
    def loaded_languages(self) -> tuple[str, ...]:
        """Which pymorphy3 dictionaries have been loaded so far (for tests and diagnostics)."""
        return self._lemmatizer.loaded_languages
