"""`Classifier`: the lexicon compiled once, then a pure `classify` per feed entry."""

from __future__ import annotations

from collections.abc import Mapping

from bot.model import Verdict
from bot.relevance.lexicon import Lexicon, load_lexicon
from bot.relevance.matcher import Hit, TokenIndex
from bot.relevance.scoring import decide
from bot.relevance.text import WORD_RE, Lemmatizer, fold, morph_language, sentences


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
        title_text = fold(title)
        summary_text = fold(summary)
        morph = morph_language(lang, title_text + " " + summary_text)
        parts = [title_text, *sentences(summary_text)]
        if not parts[0].strip():
            parts[0] = ""  # keep index 0 for the title so the lead stays sentence 1
        hits: list[Hit] = []
        for number, part in enumerate(parts):
            words = WORD_RE.findall(part)
            if words:
                hits.extend(self._index.match(number, words, morph))
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
