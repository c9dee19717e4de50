"""Which people an entry names: the surname keys that let reports in different languages meet.

Pure, dictionary-free heuristics (morphology tags proved unreliable for the rare surnames that
matter here: pymorphy3 calls "Касимова" a place). The rules (this docstring is the spec):

1. Only the title and the lead (the first `LEAD_SENTENCES` sentences of the summary) are read:
   that is where a report names the person it is about; later sentences list earlier cases
   ("in 2024 Kazakhstan also extradited Kasimov") and would glue unrelated stories.
2. A candidate is a capitalised word of letters only, at least 4 long, that does not start a
   sentence; soft hyphens, zero-width characters and stress marks inside it do not split it
   (`bot.words.unmarked`). In a headline most of whose words are capitalised (as English headlines
   are, or a Russian one of mostly names: Казахстан выдал России дезертира Дмитрия Смирнова) only
   words with a typical surname ending of the region (-ov, -ev, -in, -sky, -enko, -yan, -dze,
   -shvili, -uly, Ukrainian -ін, -єв, ...; an English possessive 's aside, and in a Kazakh or Kyrgyz
   text a case suffix: Журавлевті) are keys, since capitals there say nothing; not the given names
   that end like a surname (Тетяну, Дем'яна, Ирину: see `is_surname_key`). Its first names are still
   paired with them (rule 7), unless it is Title Case: a Latin headline with no lower-case word of 5
   letters or more but a preposition (Cyrillic headlines are written in sentence case), where an
   official's surname also stays the official's (Putin Critic Ivan Petrov).
3. All-capital words (FSB, OVD) are acronyms, not people.
4. The word's `bot.names.name_key` must not start with a stop prefix: countries, demonyms, cities of
   the region, institutions, outlets, months, weekdays and the heads of state who appear in every
   other story (Putin, Tokayev ...; `bot.stop_names`). Prefixes are written in the key's skeleton
   form (kh -> h, zh -> sh, y -> i, doubled letters single), so "Казахстана", "Kazakhstan" and
   "kazakh" all stop at "kazah". An official's surname after another first name is that person's
   (Шерзод Алиев, Bahrom Rahmonov: some of the commonest surnames of the people at risk), not a stop
   word; alone, or after the official's own first name, it is one (Алиев заявил, Ильхам Алиев). A
   surname made of a place's stem is no place (Литвиненко, Москвин, Исраилов), and in Cyrillic a
   stop word that is also a first name is that first name directly before a surname (Георгия
   Смирнова; the country is Грузия).
5. A stop word takes its own first name and patronymic with it: up to `MAX_ATTACHED` capitalised
   candidates directly before it ("Владимира Владимировича Путина") or directly after it ("Путин
   Владимир", "Putin Vladimir") are dropped too, until a word with a surname ending
   (`is_surname_key`) that is not a patronymic (-ович, -евна ... in key form) nor a stop word, which
   is someone else, or, after the stop word, the word directly before such a surname (past a
   patronymic), which is that one's first name: "критика Путина Тимура Жаксыбекова" drops neither
   "Тимура" nor "Жаксыбекова", and "выдал России Ивана Петрова" keeps Иван Петров's first name (read
   as the country's, two namesakes extradited to Russia were one story). Otherwise "Vladimir" would
   be the one name two unrelated stories share.

6. A Kazakh or Kyrgyz text (a letter only they write among the region's Cyrillic alphabets:
   ә ғ қ ң ө ұ ү һ; not і, which Ukrainian writes too) has its surnames read through
   `bot.names.kazakh_kyrgyz_stem`, so the case forms that Russian spells too count as well
   (Журавлевке "to Zhuravlev", Емельянованы): in a Russian text в Ивановке is a village.
   The text alone decides, not the feed's language: the keys are recomputed from stored
   titles and leads (`bot.storage.rekey`), which keep no language.

7. A surname candidate (`is_surname_key`, not a patronymic) is paired with its first name: the
   candidate directly before it (past one patronymic: "Дмитрий Алексеевич Смирнов"), else the
   one directly after it ("Смирнов Дмитрий") unless a surname follows that one, whose first
   name it is ("Смирнова, Алексея Петрова"). Not a sentence's first word (Активист Смирнов), a
   surname, a patronymic or a stop word, nor any word of a Title Case headline (rule 2). The
   pair is stored as "surname:form" for each of the first name's `bot.names.given_name_forms`
   (`NamedPeople.first_names`); `namesakes` tells which shared surnames two reports pair with
   first names that never meet: two people (Дмитрий and Алексей Смирнов), not one.

8. A Ukrainian first name in the dative (Олександрові, Дмитрові, Миколаєві: -ові, -еві, -єві)
   directly before a surname ("загрожує екстрадиція Олександрові Бондаренку"), or directly
   after one in the official order ("видати Бажукові Семенові"), is read as that first name
   (its stem's key), not as the case form of a surname that the same endings also are: else
   "oleksandrov" was a surname that any two Олександри shared. After a surname, only a listed
   given name's dative (`bot.given_names`); before one, any such word (Єгорові, Рашидові:
   no list holds every name) unless that surname is itself a listed first name's dative
   (Бажукові Семенові). Only with nothing but spaces between the two: across a comma they are
   a list of surnames ("Бажукові, Петрову та Сидоренку").
   Read left to right, so a first name read before a surname is none that the next word can
   follow ("Петрові Семенові": Петро Семенов).

`is_surname_key` tells surnames (by their ending in key form) from first names and stray
words, so that merging can ask "is one *surname* shared" when both reports name one. The
common given names with a surname's key ending (Дем'ян, Тетяна as Armenian -ян: Тетяну and
Саргсяна decline alike; Ирина, Константин as Russian -ин; the genitives Анны, Оксани as
Georgian -ани) are listed as first names (`bot.given_names`): else two Ирины of two cases shared
a "surname" and merged.
The result is a set of keys; two reports of one person share at least one key whatever the
script, case or gender (see tests/test_merge.py and tests/test_names.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, NamedTuple

from bot.given_names import DATIVE_FIRST_NAMES, GIVEN_NAMES, NOT_FIRST_NAMES
from bot.names import fold, given_name_forms, kazakh_kyrgyz_stem, name_key, without_possessive
from bot.stop_names import is_also_first_name, is_stop_key, is_stop_name, official_first_names
from bot.words import unmarked

LEAD_SENTENCES: Final = 3
MIN_WORD: Final = 4
TITLE_CASE_SHARE: Final = 0.6
# What a Title Case headline leaves in lower case that is 5 letters or more (rule 2).
_TITLE_CASE_LOWER: Final = frozenset({
    "about", "above", "across", "after", "against", "along", "among", "around", "before",
    "behind", "below", "beneath", "beside", "between", "beyond", "despite", "during", "except",
    "inside", "outside", "since", "through", "toward", "towards", "under", "until", "versus",
    "while", "within", "without",
})  # fmt: skip
MAX_NAMES: Final = 12
MAX_ATTACHED: Final = 2  # a first name and a patronymic
# What most entries pair (rule 7): one shared object, where a new empty frozenset each would
# be another object for the garbage collector to track while a fetch is held.
NO_FIRST_NAMES: Final[frozenset[str]] = frozenset()
_KAZAKH_KYRGYZ_LETTER: Final = re.compile("[әғқңөұүһӘҒҚҢӨҰҮҺ]")
_UKRAINIAN_DATIVE: Final = ("ові", "еві", "єві")  # rule 8; all three the same length
_WORD: Final = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")
# The end mark goes with the space: only the words of a sentence are read, and a scan for the
# marks is faster than a look-behind at every character.
_SENTENCE_END: Final = re.compile(r"[.!?…:;]\s+|\n+")
_SURNAME_ENDINGS: Final = (
    "ov", "ev", "in", "yn", "ova", "eva", "ina", "sky", "ski", "skiy", "skaya", "enko", "uk",
    "chuk", "yan", "ian", "dze", "shvili", "uly", "kyzy", "bekov", "vich", "ich", "ko",
    "ов", "ев", "ин", "ына", "ова", "ева", "ина", "ий", "ая", "енко", "ук", "ян", "дзе",
    "швили", "улы", "кызы", "вич", "ича", "ову", "еву", "ину", "ым",
    # Ukrainian stems and case forms (Качкуркін, Мовлаєв, Бажуковим, Бажукові, Бажукової)
    "ін", "їн", "єв", "їв", "им", "ові", "ої",
    # -енко, -ук/-юк, -ян and -ич in their cases (Бондаренка, Ковальчуку, Саргсяна, Бабичу)
    "енка", "енку", "енком", "ука", "уку", "уком", "юка", "юку", "юком", "яна", "яну", "яном",
    "ичу", "ичем",
)  # fmt: skip
# The same endings in key form (bot.names skeleton: y -> i, doubled letters single).
_SURNAME_KEY_ENDINGS: Final = (
    "ov", "ev", "in", "ski", "enko", "uk", "ian", "dze", "shvili", "uli", "kizi", "vich", "ich",
    "ko", "iev", "ani", "zade", "oglu",
)  # fmt: skip
# A patronymic in any case, in key form (Владимирович, Владимировича, Vladimirovna): its -vich
# looks like a surname's, but next to an official it is the official's.
_PATRONYMIC: Final = re.compile(r"(?:ovich|evich|ovn|evn|ichn)[a-z]{0,2}$")


def is_surname_key(key: str) -> bool:
    """Whether a key has a surname ending of the region (Bazhukov, Kovalenko, Setrakov...), as
    opposed to a first name (one of the few with such an ending too: Demian, Irina) or a
    stray capitalised word."""
    return key.endswith(_SURNAME_KEY_ENDINGS) and key not in GIVEN_NAMES


def surnames(keys: Iterable[str]) -> set[str]:
    """The keys that are surnames (`is_surname_key`)."""
    return {key for key in keys if is_surname_key(key)}


class NamedPeople(NamedTuple):
    """The people an entry names (see the module docstring)."""

    keys: frozenset[str]
    first_names: frozenset[str]  # "surname:form" pairs (rule 7)


def person_keys(title: str, summary: str) -> frozenset[str]:
    """The surname keys of the people the title and lead name (see the module docstring)."""
    return named_people(title, summary).keys


def named_people(title: str, summary: str) -> NamedPeople:
    """The keys of the people the title and lead name, and their surnames' first names, in a
    composed text (NFC, as read: `bot.html_text.plain_text`)."""
    title, summary = unmarked(title), unmarked(summary)
    keys: dict[str, None] = {}
    pairs: list[str] = []
    lead = _SENTENCE_END.split(summary.strip(), maxsplit=LEAD_SENTENCES)[:LEAD_SENTENCES]
    turkic = any(map(_KAZAKH_KYRGYZ_LETTER.search, (title, *lead)))
    title_words = _WORD.findall(title)
    name_dense, title_case = _headline_kind(title_words)
    named = _named(title, title_words, turkic, title_case=title_case)
    for _, word, key in named:
        if name_dense and (key in GIVEN_NAMES or not _surname_like(word, turkic)):
            continue
        keys[key] = None
    if not title_case:
        pairs += _first_names(named)
    for sentence in lead:
        words = _WORD.findall(sentence)
        named = _named(sentence, words, turkic)
        for _, _, key in named:
            keys[key] = None
        pairs += _first_names(named)
    kept = frozenset(list(keys)[:MAX_NAMES])
    if not pairs:
        return NamedPeople(kept, NO_FIRST_NAMES)
    return NamedPeople(kept, frozenset(p for p in pairs if p.partition(":")[0] in kept))


def namesakes(a: frozenset[str], b: frozenset[str]) -> set[str]:
    """The surnames that two reports' `first_names` both pair with first names, and never with
    one they share (rule 7): two people of one surname."""
    if not a or not b:
        return set()
    names_a, names_b = _first_names_by_surname(a), _first_names_by_surname(b)
    return {s for s in names_a.keys() & names_b.keys() if names_a[s].isdisjoint(names_b[s])}


def _first_names_by_surname(pairs: frozenset[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for pair in pairs:
        surname, _, form = pair.partition(":")
        found.setdefault(surname, set()).add(form)
    return found


def _surname_like(word: str, turkic: bool) -> bool:
    stem = kazakh_kyrgyz_stem(word) if turkic else None
    return without_possessive(stem or word.lower()).endswith(_SURNAME_ENDINGS)


def _named(
    text: str, words: list[str], turkic: bool, *, title_case: bool = False
) -> list[tuple[int, str, str]]:
    """The candidate words of one sentence (rules 2-6 and 8), with their places and keys, in
    order; `words` are the sentence's (`text`) words, `title_case` whether it is a Title Case
    headline (rule 2), whose capitals say nothing."""
    keys = [_candidate_key(w, turkic) for w in words]
    _read_dative_first_names(text, words, keys)
    stops = [
        key is not None
        and is_stop_key(key)
        and _stops(text, words, keys, i, key, title_case=title_case)
        for i, key in enumerate(keys)
    ]
    dropped: set[int] = set()
    for i, stop in enumerate(stops):
        if not stop:
            continue
        dropped.add(i)
        # The first word is read here although it is never a candidate: it may be the stop
        # word ("Путин Владимир ...") whose first name follows.
        for step in (-1, 1):
            j = i + step
            while abs(j - i) <= MAX_ATTACHED and 0 <= j < len(keys):
                if keys[j] is None or stops[j] or _someones(keys, stops, j):
                    break
                if step == 1 and _before_someone(keys, stops, j):
                    break  # that one's first name: "выдал России Ивана (Ивановича) Петрова"
                dropped.add(j)
                j += step
    return [
        (i, words[i], key)
        for i, key in enumerate(keys)
        if i > 0 and key is not None and i not in dropped
    ]


def _stops(
    text: str, words: list[str], keys: list[str | None], i: int, key: str, *, title_case: bool
) -> bool:
    """Rule 4 for word `i`, whose key is a stop key: a stop word, unless an official's surname after
    another first name (`is_stop_name`), or, in Cyrillic, a stop word that is also a first name
    directly before a surname (Георгия Смирнова; the country is Грузия, and Georgia stays one)."""
    if official_first_names(key) is not None:
        # In a Title Case headline the word before is capitalised whatever it is (Putin Critic).
        return title_case or is_stop_name(key, _first_name_before(keys, i))
    if not is_also_first_name(key) or not "а" <= words[i][:1].lower() <= "я":
        return True
    after = keys[i + 1] if i + 1 < len(keys) else None
    return after is None or is_stop_key(after) or not _surname_beside(text, words, keys, i, i + 1)


def _first_name_before(keys: list[str | None], i: int) -> str | None:
    """Rule 4: the key of the word that would be word `i`'s first name, directly before it
    (past a patronymic); never a sentence's first word, capitalised whatever it is (rule 2)."""
    j = i - 1
    if j >= 1 and (key := keys[j]) is not None and _PATRONYMIC.search(key):
        j -= 1
    return keys[j] if j >= 1 else None


def _someones(keys: list[str | None], stops: list[bool], i: int) -> bool:
    """Rule 5: whether word `i`, next to a stop word, is someone else's surname, not the stop
    word's first name or patronymic."""
    key = keys[i]
    return key is not None and not stops[i] and is_surname_key(key) and not _PATRONYMIC.search(key)


def _before_someone(keys: list[str | None], stops: list[bool], i: int) -> bool:
    """Rule 5: whether word `i` is directly before someone's surname, or before a patronymic
    that is: that one's first name or patronymic."""
    j = i + 1
    if j < len(keys) and (key := keys[j]) is not None and _PATRONYMIC.search(key):
        j += 1
    return j < len(keys) and _someones(keys, stops, j)


def _read_dative_first_names(text: str, words: list[str], keys: list[str | None]) -> None:
    """Rule 8, in place, left to right: a first name read before a surname is no surname that
    the next word's first name could follow (Петрові Семенові: Петро Семенов)."""
    if "ві" not in text:  # every ending of rule 8 ends so; most sentences have none
        return
    for i, word in enumerate(words):
        if not word.endswith(_UKRAINIAN_DATIVE) or keys[i] is None:
            continue
        if fold(word) in DATIVE_FIRST_NAMES:
            first = _next_to_surname(text, words, keys, i)
        else:
            first = _before_a_surname(text, words, keys, i)
        if first:
            keys[i] = name_key(word[: -len(_UKRAINIAN_DATIVE[0])])


def _before_a_surname(text: str, words: list[str], keys: list[str | None], i: int) -> bool:
    """Whether word `i`, a dative no list knows (Єгорові, Рашидові), is a first name: directly
    before a surname, the usual order, unless that surname is a listed first name's dative
    (Бажукові Семенові, the official order: Семен Бажуков)."""
    j = i + 1
    return _surname_beside(text, words, keys, i, j) and fold(words[j]) not in DATIVE_FIRST_NAMES


def _next_to_surname(text: str, words: list[str], keys: list[str | None], i: int) -> bool:
    """Whether word `i` has a surname directly before or after it."""
    return any(_surname_beside(text, words, keys, i, j) for j in (i + 1, i - 1))


def _surname_beside(text: str, words: list[str], keys: list[str | None], i: int, j: int) -> bool:
    """Whether word `j`, beside word `i`, is a surname with nothing but spaces between the two:
    across a comma they are a list of surnames (Бажукові, Петрову)."""
    other = keys[j] if 0 <= j < len(keys) else None
    if other is None or not is_surname_key(other):
        return False
    first, second = sorted((i, j))
    return _adjacent(text, words[first], words[second])


def _adjacent(text: str, a: str, b: str) -> bool:
    """Whether words `a` and `b` follow one another in `text` with only spaces between."""
    return re.search(rf"(?<!\w){re.escape(a)}\s+{re.escape(b)}(?!\w)", text) is not None


def _first_names(named: list[tuple[int, str, str]]) -> list[str]:
    """Rule 7's "surname:form" pairs of one sentence's candidates (`_named`)."""
    if len(named) < 2:
        return []  # most sentences: no pair to look for
    at = {i: key for i, _, key in named}
    pairs: list[str] = []
    for i, key in at.items():
        if not _is_surname(key):
            continue
        before = at.get(i - 1)
        if before is not None and _PATRONYMIC.search(before):
            before = at.get(i - 2)
        first = before if _is_first_name(before) else None
        if first is None and not _is_surname(at.get(i + 2)):
            first = at.get(i + 1)
        if first is not None and _is_first_name(first):
            pairs.extend(f"{key}:{form}" for form in given_name_forms(first))
    return pairs


def _is_surname(key: str | None) -> bool:
    return key is not None and is_surname_key(key) and not _PATRONYMIC.search(key)


def _is_first_name(key: str | None) -> bool:
    return (
        key is not None
        and not is_surname_key(key)
        and not _PATRONYMIC.search(key)
        and key not in NOT_FIRST_NAMES
    )


def _candidate_key(word: str, turkic: bool) -> str | None:
    if len(word) < MIN_WORD or not word[0].isupper() or word.isupper():
        return None
    stem = kazakh_kyrgyz_stem(word) if turkic else None
    return name_key(stem or word)


def is_title_case(text: str) -> bool:
    """Whether `text` is a Title Case headline (rule 2), whose capitals say nothing."""
    return _headline_kind(_WORD.findall(text))[1]


def _headline_kind(words: list[str]) -> tuple[bool, bool]:
    """Rule 2: whether a headline is mostly capitalised words, in any script (Казахстан выдал
    России дезертира Дмитрия Смирнова), and whether it is Title Case: a Latin one with no word
    of 5 letters or more in lower case but a preposition ("Kazakhstan extradites Russian
    deserter Dmitry Smirnov" is none, whatever its share of names)."""
    long_words = [w for w in words if len(w) > 3]
    if len(long_words) < 3:
        return False, False
    capitalised = sum(1 for w in long_words if w[0].isupper())
    if capitalised / len(long_words) < TITLE_CASE_SHARE:
        return False, False
    if any("\u0400" <= w[0] <= "\u04ff" for w in long_words):
        return True, False  # Cyrillic headlines are written in sentence case
    lower = any(w[0].islower() and len(w) > 4 and w not in _TITLE_CASE_LOWER for w in long_words)
    return True, not lower
