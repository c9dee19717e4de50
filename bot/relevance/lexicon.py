"""The lexicon: built-in data file plus the optional `lexicon:` mapping of feeds.yaml.

`load_lexicon(extension)` reads `lexicon.yaml` shipped in this package, validates the extension,
appends its terms and returns a frozen `Lexicon` of parsed `Term`s. Every error names the key
that is wrong (``lexicon.countries.XX.role``) and raises `ConfigError`; the built-in file goes
through the same checks, so a broken data file fails the first test that builds a classifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Final, cast

import yaml

from bot.errors import ConfigError
from bot.words import WORD_RE, fold

ACTION_TYPES: Final = (
    "extradition",
    "deportation",
    "abduction",
    "asylum",
    "detention",
    "wanted-list",
)
STRENGTHS: Final = ("issue", "strong", "weak")
ROLES: Final = ("origin", "both", "transit")
_TERM_LISTS: Final = ("masks", "policy", "targets", "crime", "watchlist", "returns")
_TOP_KEYS: Final = frozenset(
    {"version", "countries", "actions", "offtopic", "issuance", *_TERM_LISTS}
)
_CODE_RE: Final = re.compile(r"[A-Z]{2}")
_KIND_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
MIN_PREFIX: Final = 3
MAX_WORDS: Final = 6
MAX_TERM_CHARS: Final = 80


@dataclass(frozen=True, slots=True)
class Word:
    text: str  # folded; for whole-word Latin terms the Snowball stem is applied by the matcher
    prefix: bool


@dataclass(frozen=True, slots=True)
class Term:
    source: str  # as written in the lexicon
    words: tuple[Word, ...]
    concept: str  # action, place, mask, policy, target, crime, watch, return, offtopic, issuance
    label: str = ""  # action type, ISO code or off-topic kind
    strength: str = ""  # for actions: issue, strong or weak


@dataclass(frozen=True, slots=True)
class Lexicon:
    terms: tuple[Term, ...]
    roles: Mapping[str, str]  # ISO code -> origin / both / transit
    issuance_window: int


def parse_term(raw: object, where: str) -> tuple[Word, ...]:
    """Split one term into words; '*' may only end a word of at least MIN_PREFIX letters."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError(f"{where}: a term must be a non-empty string, got {raw!r}")
    if len(raw) > MAX_TERM_CHARS:
        raise ConfigError(f"{where}: term longer than {MAX_TERM_CHARS} characters")
    words: list[Word] = []
    for chunk in fold(raw).replace("-", " ").split():
        prefix = chunk.endswith("*")
        body = chunk[:-1] if prefix else chunk
        if not WORD_RE.fullmatch(body) or "_" in body:
            raise ConfigError(
                f"{where}: {raw!r} — a word is letters and digits, with '*' only at its end"
            )
        if prefix and len(body) < MIN_PREFIX:
            raise ConfigError(f"{where}: {raw!r} — a prefix needs at least {MIN_PREFIX} letters")
        words.append(Word(body, prefix))
    if not words or len(words) > MAX_WORDS:
        raise ConfigError(f"{where}: {raw!r} — a term has 1 to {MAX_WORDS} words")
    return tuple(words)


def _term_list(raw: object, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: expected a list of terms, got {type(raw).__name__}")
    for index, item in enumerate(raw):
        parse_term(item, f"{where}[{index}]")
    return [cast(str, item) for item in raw]


def _mapping(raw: object, where: str) -> Mapping[str, object]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not all(isinstance(key, str) for key in raw):
        raise ConfigError(f"{where}: expected a mapping with string keys")
    return cast(Mapping[str, object], raw)


def _merge_countries(
    base: dict[str, tuple[str, list[str]]], raw: object, where: str, *, builtin: bool
) -> None:
    for code, spec in _mapping(raw, where).items():
        here = f"{where}.{code}"
        if not _CODE_RE.fullmatch(code):
            raise ConfigError(f"{here}: a country key is an ISO 3166 alpha-2 code like KZ")
        role: object = None
        if isinstance(spec, list):
            terms = _term_list(spec, here)
        else:
            fields = _mapping(spec, here)
            unknown = set(fields) - {"role", "terms"}
            if unknown:
                raise ConfigError(f"{here}: unknown key(s) {sorted(unknown)}; use role, terms")
            role = fields.get("role")
            terms = _term_list(fields.get("terms"), f"{here}.terms")
        if role is not None and role not in ROLES:
            raise ConfigError(f"{here}.role: must be one of {', '.join(ROLES)}, got {role!r}")
        if code not in base and role is None:
            raise ConfigError(f"{here}.role: a new country needs a role ({', '.join(ROLES)})")
        if code in base and role is not None and not builtin and role != base[code][0]:
            raise ConfigError(f"{here}.role: {code} is built in as {base[code][0]!r}")
        old_role, old_terms = base.get(code, (cast(str, role), []))
        base[code] = (cast(str, role) if role is not None else old_role, old_terms + terms)


def _merge_actions(base: dict[tuple[str, str], list[str]], raw: object, where: str) -> None:
    for kind, spec in _mapping(raw, where).items():
        here = f"{where}.{kind}"
        if kind not in ACTION_TYPES:
            raise ConfigError(f"{here}: unknown action type; use one of {', '.join(ACTION_TYPES)}")
        for strength, terms in _mapping(spec, here).items():
            if strength not in STRENGTHS:
                raise ConfigError(f"{here}.{strength}: use one of {', '.join(STRENGTHS)}")
            base.setdefault((kind, strength), []).extend(_term_list(terms, f"{here}.{strength}"))


@dataclass(slots=True)
class _Draft:
    countries: dict[str, tuple[str, list[str]]]
    actions: dict[tuple[str, str], list[str]]
    offtopic: dict[str, list[str]]
    lists: dict[str, list[str]]
    issuance_objects: list[str]
    issuance_window: int

    def merge(self, raw: object, where: str, *, builtin: bool) -> None:
        data = _mapping(raw, where)
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}")
        _merge_countries(
            self.countries, data.get("countries"), f"{where}.countries", builtin=builtin
        )
        _merge_actions(self.actions, data.get("actions"), f"{where}.actions")
        for kind, terms in _mapping(data.get("offtopic"), f"{where}.offtopic").items():
            if not _KIND_RE.fullmatch(kind):
                raise ConfigError(f"{where}.offtopic.{kind}: a kind is lower_snake_case")
            self.offtopic.setdefault(kind, []).extend(_term_list(terms, f"{where}.offtopic.{kind}"))
        for key in _TERM_LISTS:
            self.lists.setdefault(key, []).extend(_term_list(data.get(key), f"{where}.{key}"))
        self._merge_issuance(data.get("issuance"), f"{where}.issuance")

    def _merge_issuance(self, raw: object, where: str) -> None:
        fields = _mapping(raw, where)
        unknown = set(fields) - {"window", "objects"}
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; use window, objects")
        window = fields.get("window")
        if window is not None:
            if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 10:
                raise ConfigError(f"{where}.window: an integer from 1 to 10")
            self.issuance_window = window
        self.issuance_objects.extend(_term_list(fields.get("objects"), f"{where}.objects"))

    def terms(self) -> Iterator[Term]:
        for code, (_, sources) in sorted(self.countries.items()):
            yield from _make("place", sources, code)
        for (kind, strength), sources in self.actions.items():
            yield from _make("action", sources, kind, strength)
        for kind, sources in self.offtopic.items():
            yield from _make("offtopic", sources, kind)
        concepts = {"masks": "mask", "watchlist": "watch"}
        for key, sources in self.lists.items():
            yield from _make(concepts.get(key, key.rstrip("s")), sources, "")
        yield from _make("issuance", self.issuance_objects, "")


def _make(concept: str, sources: list[str], label: str, strength: str = "") -> Iterator[Term]:
    for source in dict.fromkeys(sources):
        yield Term(source, parse_term(source, concept), concept, label, strength)


def builtin_data() -> object:
    text = resources.files("bot.relevance").joinpath("lexicon.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def load_lexicon(extension: Mapping[str, object] | None = None) -> Lexicon:
    """The built-in lexicon plus `extension` (the `lexicon:` mapping of feeds.yaml)."""
    draft = _Draft({}, {}, {}, {}, [], 4)
    draft.merge(builtin_data(), "built-in lexicon", builtin=True)
    if extension is not None:
        if not isinstance(extension, Mapping):
            raise ConfigError("lexicon: expected a mapping")
        draft.merge(extension, "lexicon", builtin=False)
    roles = {code: role for code, (role, _) in draft.countries.items()}
    return Lexicon(tuple(draft.terms()), roles, draft.issuance_window)
