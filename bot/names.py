"""Person names across scripts and grammatical cases: one comparable Latin key per surname.

Outlets write the same person as Бажуков, Бажукова (genitive, or a woman's form), Бажукову,
Ukrainian Бажуковим or Бажукові, Bazhukov, Bazhukov's, Bajukov or Baschukow. `name_key()` maps
all of these to one key, so story merging and search can meet on it. Pure and dictionary-free
(rules, not morphology), so it is fast and behaves the same for surnames no dictionary knows,
which is most of them here.

Stored data holds these keys (stories' names and the merge index, the search index's terms,
watchlist keys): a change to the rules that changes any key bumps `KEYS_VERSION`, and
`bot.storage.rekey` brings a database written with older keys up to date when it is opened.

The rules (this docstring is the spec):
1. Fold: NFKC, lower case, ё -> е, an English possessive 's dropped (Bazhukov's), then
   apostrophes and hyphens dropped. Ukrainian spells ё as ьо, or йо after a consonant
   (Ковальов, Соловйов = Ковалёв, Соловьёв): both fold to е too (Майоров keeps its йо).
2. Cyrillic surnames lose their case and gender endings, longest first: adjective-like ones
   in -ский/-цкий take their Russian forms (-ского, -скому, -ским, -ском, -ская, -скую, -ской,
   -ские, -ских, -скими) and Ukrainian ones (-ський, -ського, -ському, -ським, -ськім, -ська,
   -ську, -ської, -ській, -ською, -ські, -ських) back to -ский/-цкий (Політковська ->
   политковский); after -ов/-ев/-ёв/-ин/-ын and the Ukrainian -ін/-їн/-єв/-їв: -а, -у, -ым,
   -ой, -ою, -е, -ых, -ыми, -ы and the Ukrainian -им, -ими, -их, -ої, -ій, -і -> nothing
   (Бажукова, Бажуковим, Бажукові, Бажукової -> бажуков). Ukrainian/Kazakh letters are kept
   for step 3. Kazakh and Kyrgyz write a Russian surname in Russian spelling and add their
   case suffixes by the sound before them, which go too:
   - after -ов/-ев, whose -в Kazakh counts voiceless, Kyrgyz voiced: Kazakh -тың/-тің,
     -қа, -ты/-ті, -та/-те, -тан/-тен, -пен; Kyrgyz -дун/-дин, -го/-ге, -ду/-ди, -до/-де,
     -дон/-ден, and -тун/-түн, -ту/-тү, -то, -тон as Kazakh would devoice them (Бажуковтың,
     Бажуковқа, Журавлевті, Бажуковдун, Бажуковго -> бажуков, журавлев);
   - after -ин/-ын: Kazakh -ның/-нің, -ға, -ды/-ді, -нан/-нен; Kyrgyz -дын/-дин, -ды/-ди,
     -дан/-ден (Ильиннің -> ильин). Not the locative -да/-де: Kazakh and Kyrgyz "in its ..."
     ends the same (ішінде, ишинде "in the case" are no Ишин);
   - after a woman's -ова/-ева/-ина/-ына, which loses its -а too: -ның/-нын, -ға/-га, -дан
     (Бажукованың -> бажуков);
   - after any of them the instrumental -мен/-бен/-пен, Kyrgyz -менен.
   Not the forms Russian or Ukrainian spell too: -ка/-ко after -ов/-ев/-ин make villages and
   surnames (Ивановка, Алексеевка, Никитинка, Головко: no Kazakh or Kyrgyz dative is -ка or
   -ко there), and the Kazakh dative -ке after -в, the dative -ге/-га after -н and the
   accusative -ны after a woman's -а are also Russian (в Ивановке, на митинге, митинга,
   арестованы): `kazakh_kyrgyz_key` reads those, for a text known to be Kazakh or Kyrgyz.
   Other men's surnames that decline lose -а, -у, -ом/-ем, -е, -і, -ові: Ukrainian -енко
   (Лук'яненка -> лукяненко), -ук/-юк, -ич, and -ян after a consonant (Арутюняна).
3. Cyrillic is transliterated with a BGN/PCGN-like table (ж zh, х kh, ц ts, ч ch, ш sh, щ shch,
   ю yu, я ya, й y, ы y; Ukrainian і i, ї yi, є ye, ґ g; Kazakh/Kyrgyz ә a, ғ g, қ k, ң n, ө o,
   ұ u, ү u, һ h; ь ъ dropped).
   Adjective-like surnames (Навального, Навальная) go back to -ый.
4. Latin "yo" after a consonant becomes "e" (Zhuravlyov = Журавлёв, since ё folds to е).
   Latin spellings are then folded to a skeleton so that the common romanisations meet: kh -> h,
   dzh/dj -> j, zh/sch/shch -> sh (so ж and ш meet: a rare collision, accepted), tsch -> ch,
   tz -> ts, w -> v, ck -> k, ph -> f, x -> ks; y or j after a vowel is a glide: dropped
   before another vowel (Movlayev = Movlaev), else i (Khuseynov = Husseinov); any other y is i;
   double letters are one (Navalnyy = Navalny). Latin feminine "-ova/-eva/-ina" -> "-ov/-ev/-in",
   and before all this, in Latin script, "-skaya/-skaia/-skaja/-ska" (and -cka) -> "-ski"
   (Politkovskaya, Ukrainian Politkovska, Polish Kowalska) and "-naya/-naia/-naja" -> "-ny"
   (Navalnaya), as rule 2 does in Cyrillic.
   Last, "ie" at the start is "e": the press's Ye- for е (Yegorov, Yevtushenko = Егоров,
   Євтушенко). Its -yev for -ьев (Vasilyev) is left: Latin -iev is also -иев (Valiev).
Keys shorter than 3 letters are None: too ambiguous to merge or search on.

5. A first name is compared by `given_name_forms` of its key (`bot.people` pairs it with the
   surname it stands next to): its consonants, vowels and j dropped and doubled letters one,
   so its cases, scripts and romanisations meet (Дмитрий, Дмитрия, Dmitriy, Ukrainian Дмитро;
   Алексей, Alexei, Олексій; Владимир, Володимир; Павел, Павла: the fleeting vowel goes too),
   and also without the -m of a key ending in a vowel and m (the instrumental: Дмитрием,
   Павлом; Артём keeps his own form as well). G and h are one letter there (Ukrainian г is
   romanised h: Сергей, Serhiy; Игорь, Ihor; and Магомед, Mohammed), and the Ukrainian forms
   whose consonants differ (Микола, Ганна) are read as the Russian ones.
   The forms are loose so that one person's spellings never meet as two names; the price is
   that a few different names meet as one (Олег, Ольга; Игорь, Егор; Анна, Нина), and their
   namesakes merge as all namesakes did before.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Final, TypeAlias

_TRANSLIT: Final = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya", "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ә": "a", "ғ": "g", "қ": "k",
        "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "ў": "u", "ј": "j",
    }
)  # fmt: skip
_DROP: Final = dict.fromkeys(map(ord, "'’ʼʻ‘`´-‐"), None)
_SLAVIC_STEMS: Final = ("ов", "ев", "ёв", "ин", "ын", "ін", "їн", "єв", "їв")
_CASE_ENDINGS: Final = (
    "ыми", "ими", "ого", "ому", "ым", "им", "ой", "ою", "ых", "их", "ої", "ій",
    "а", "у", "е", "ы", "і",
)  # fmt: skip
# Rule 2's Kazakh and Kyrgyz case suffixes: (the endings of the Russian spelling they follow,
# the suffixes, longest first). A woman's -а goes with the suffix.
_Cases: TypeAlias = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
_INSTRUMENTAL: Final = ("менен", "мен", "бен", "пен")
_TURKIC_CASES: Final[_Cases] = (
    (("ов", "ев"), (*_INSTRUMENTAL, "тың", "тің", "тан", "тен", "дун", "дин", "дон", "ден",
                    "тун", "түн", "тон", "қа", "ты", "ті", "та", "те", "го", "ге", "ду", "ди",
                    "до", "де", "ту", "тү", "то")),
    (("ин", "ын"), (*_INSTRUMENTAL, "ның", "нің", "нан", "нен", "дын", "дин", "дан", "ден",
                    "ға", "ды", "ді", "ди")),
    (("ова", "ева", "ина", "ына"), (*_INSTRUMENTAL, "ның", "нын", "дан", "ға", "га")),
)  # fmt: skip
# ... and those that end Russian or Ukrainian words after the same letters (`kazakh_kyrgyz_key`).
_TURKIC_CASES_RUSSIAN_TOO: Final[_Cases] = (
    (("ов", "ев"), ("ке",)),
    (("ин", "ын"), ("ге", "га")),
    (("ова", "ева", "ина", "ына"), ("ны",)),
)
_DECLINED_ENDINGS: Final = ("ові", "ом", "ем", "а", "у", "е", "і")
_CONSONANTS: Final = frozenset("бвгґджзйклмнпрстфхцчшщ")
# Ukrainian ё: ьо anywhere, йо after a consonant (after a vowel й is a glide: Майоров).
_UKRAINIAN_YO: Final = re.compile(r"ьо|(?<=[бвгґджзклмнпрстфхцчшщ])йо")
# An English possessive on a Latin name (Bazhukov's, Bazhukov’s): not part of the name.
_POSSESSIVE: Final = re.compile(r"[’'ʼ]s$")
# A Latin "yo" after a consonant is Russian ё, which Cyrillic folding makes е (Zhuravlyov,
# Pyotr, Semyon = Журавлёв, Пётр, Семён).
_YO: Final = re.compile(r"(?<=[bcdfgklmnprstvz])yo")
_ADJECTIVE_ENDINGS: Final = ("ого", "ому", "ым", "ом", "ая", "ую", "ой", "ий", "ый")
# Rule 2's -ский/-цкий in Russian (ск) and Ukrainian (ськ), at least two letters before.
_SKIY: Final = re.compile(
    r"(?<=\w\w)([сц])(?:к(?:ого|ому|ими|им|ом|ая|ую|ой|ий|ие|их)"
    r"|ьк(?:ого|ому|ими|им|ім|ий|ої|ій|ою|их|а|у|і))$"
)
# Rule 4's Latin women's forms of adjective-like surnames.
_LATIN_SKAYA: Final = re.compile(r"(?<=[a-z]{2})([sc]k)(?:aya|aia|aja|a)$")
_LATIN_NAYA: Final = re.compile(r"(?<=[a-z]{3})n(?:aya|aia|aja)$")
_SKELETON: Final = (
    ("shch", "sh"), ("tsch", "ch"), ("sch", "sh"), ("dzh", "j"), ("dj", "j"), ("zh", "sh"),
    ("kh", "h"), ("tz", "ts"), ("ck", "k"), ("ph", "f"), ("w", "v"), ("x", "ks"),
)  # fmt: skip
_VOWELS: Final = frozenset("aeiou")
# Rule 5: j too, which a romanisation writes for й, я, ю (Julia, Юлия).
_GIVEN_NAME_VOWELS: Final = frozenset("aeiouj")
# Rule 5: the Ukrainian forms of names whose consonants differ from the Russian, as Ukrainian
# outlets write a Russian citizen's name (the rest, Дмитро, Олексій, Сергій, meet by rule).
_UKRAINIAN_GIVEN_NAMES: Final = {
    "mikola": "nikolai",
    "mikoli": "nikolai",
    "mikolu": "nikolai",
    "mikolou": "nikolai",  # instrumental: "з Миколою"
    "mikolo": "nikolai",  # vocative
    "gana": "ana",
    "gani": "ana",
    "ganu": "ana",
    "ganou": "ana",
    "hana": "ana",
}
# What the English press writes for е at a word's start (Yegorov, Yevtushenko), once y is i:
# Cyrillic Егоров comes out as egorov. Not for -ьев (Vasilyev): Latin -iev is also -иев
# (Valiev), and folding both to -ev made Валиев and Валеев one person.
_SOFT_E: Final = re.compile(r"^ie")
MIN_KEY: Final = 3
KEY_CACHE: Final = 65_536


# 2: Ukrainian forms, Ukrainian ё, English possessives. 3: the search index's word forms no
# longer read a surname as a first name's plural (`bot.relevance.text.Lemmatizer`): re-indexed.
# 4: -енко, -ук/-юк, -ич and -ян surnames in their cases. 5: an initial Ye- (rule 4's last).
# 6: Kazakh/Kyrgyz suffixes by the sound before them (no -ка: Ивановка is not Иванов), and
# -ский/-цкий's Ukrainian and Latin women's forms. 7: `bot.people` reads a Kazakh or Kyrgyz
# text's case forms that Russian spells too (`kazakh_kyrgyz_stem`): stories' names re-keyed.
# 8: stories' first names, paired with their surnames (rule 5, `bot.people` rule 7; migration
# 18), so that a namesake's report is another story. 9: the Ukrainian instrumental Миколою,
# Ганною (and Миколо) as Микола and Ганна; -енко, -ук, -ян, -ич surnames in their cases in a
# headline of mostly names (`bot.people` rule 2); a Ukrainian first name's dative before a
# surname is that first name (rule 8): their stories' keys are added. 10: the given names
# whose keys end like a surname's (Тетяна, Дем'ян, Ирина, Константин, Анны:
# `bot.people.is_surname_key`) are first names, paired with their surnames; `bot.people` rule 8
# reads only a given name's dative, not across a comma, and after a surname too (Бажукові,
# Петрову; Бажукові Семенові). 11: `bot.words.fold` composes decomposed text (NFC) and drops
# the grave stress mark: watches re-keyed, and the stories whose stored text it reads otherwise
# re-indexed (`bot.storage.rekey.COMPOSED_VERSION`); name keys are as they were. 12: a name
# with a soft hyphen, a zero-width character or a stress mark inside is one word
# (`bot.words.unmarked`), and stored text is composed before it is read for names; a first
# name right after a country, a city or a month is the next surname's (`bot.people` rule 5:
# "выдал России Ивана Петрова"), no longer the stop word's; an official's surname after another
# first name is that person's (Шерзод Алиев: `bot.stop_names`), and so is a surname made of a
# place's stem (Литвиненко, Москвин, Исраилов); Kazakh and Kyrgyz country genitives
# (Орусиянын) are stop words; a headline of mostly names pairs its first names unless it is
# Latin Title Case (`bot.people` rule 2): the stories' keys are added.
KEYS_VERSION: Final = 12
# The last version whose rules changed keys the search index holds (8 to 11 changed none for
# every story): a database behind it has every story re-indexed on open (`bot.storage.rekey`),
# hours on a big one.
SEARCH_KEYS_VERSION: Final = 7


def fold(word: str) -> str:
    lowered = unicodedata.normalize("NFKC", word).lower().replace("ё", "е")
    return _UKRAINIAN_YO.sub("е", without_possessive(lowered)).translate(_DROP)


def without_possessive(word: str) -> str:
    """`word` without an English possessive 's (Bazhukov's: the surname is Bazhukov)."""
    return _POSSESSIVE.sub("", word)


def transliterate(text: str) -> str:
    """Cyrillic to Latin with the table above; other characters pass through."""
    return fold(text).translate(_TRANSLIT)


@lru_cache(maxsize=KEY_CACHE)
def name_key(word: str) -> str | None:
    """The comparable Latin key of one surname (or given name) in any case, gender or script.

    Memoised (bounded): merging, search and watchlists ask for the same capitalised words of
    every entry, and the rules above cost microseconds a word."""
    folded = fold(word)
    if not folded.isalpha():
        return None
    latin = transliterate(_base_form(folded)) if _is_cyrillic(folded) else _latin_form(folded)
    key = _skeleton(_latin_base(latin))
    return key if len(key) >= MIN_KEY else None


def given_name_forms(key: str) -> tuple[str, ...]:
    """The forms a first name's key is compared by (rule 5): two first names are one when
    their forms meet. Empty for a key with no consonant (no comparison, no conflict)."""
    forms = [_consonants(key)]
    if len(key) > 3 and key[-1] == "m" and key[-2] in _VOWELS:
        forms.append(_consonants(key[:-1]))
    return tuple(form for form in dict.fromkeys(forms) if form)


def _consonants(key: str) -> str:
    key = _UKRAINIAN_GIVEN_NAMES.get(key, key)
    chars: list[str] = []
    for ch in key.replace("g", "h"):
        if ch not in _GIVEN_NAME_VOWELS and (not chars or chars[-1] != ch):
            chars.append(ch)
    return "".join(chars)


def kazakh_kyrgyz_key(word: str) -> str | None:
    """The key of a surname in a Kazakh or Kyrgyz case form that Russian or Ukrainian spells
    too (Журавлевке "to Zhuravlev", Russian "in Zhuravlevka"; Никитинге, Бажукованы), or None:
    for words of a text known to be neither Russian nor Ukrainian. `name_key` reads the other
    case forms in every text."""
    folded = fold(word)
    stem = _turkic_stem(folded, _TURKIC_CASES_RUSSIAN_TOO) if _is_cyrillic(folded) else None
    return None if stem is None else name_key(stem)


def kazakh_kyrgyz_stem(word: str) -> str | None:
    """The Russian spelling of a surname under any of rule 2's Kazakh or Kyrgyz case suffixes
    (Журавлевті, Журавлевке -> журавлев; Емельянованы -> емельянов), folded, or None: for
    words of a text known to be Kazakh or Kyrgyz, whose surname endings it exposes."""
    folded = fold(word)
    if not _is_cyrillic(folded):
        return None
    return _turkic_stem(folded, _TURKIC_CASES_RUSSIAN_TOO) or _turkic_stem(folded, _TURKIC_CASES)


def _is_cyrillic(word: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in word)


def _base_form(word: str) -> str:
    declined = _declined_stem(word)
    if declined is not None:
        return declined
    adjective = _SKIY.sub(r"\1кий", word)
    if adjective != word:
        return adjective
    if word.endswith(("ный", "ного", "ному", "ным", "ном", "ная", "ную", "ной")):
        for ending in _ADJECTIVE_ENDINGS:
            if word.endswith(ending):
                return word[: -len(ending)] + "ый"
    for ending in _CASE_ENDINGS:
        stem = word[: -len(ending)]
        if word.endswith(ending) and stem.endswith(_SLAVIC_STEMS) and len(stem) > 3:
            return stem
    return _turkic_stem(word, _TURKIC_CASES) or word


def _turkic_stem(word: str, cases: _Cases) -> str | None:
    """The surname under one of rule 2's Kazakh/Kyrgyz case suffixes, or None."""
    for stems, suffixes in cases:
        if not word.endswith(suffixes):  # most words: one C call, not a loop
            continue
        for suffix in suffixes:
            before = word[: -len(suffix)]
            stem = before.removesuffix("а")
            if word.endswith(suffix) and before.endswith(stems) and len(stem) > 3:
                return stem
    return None


def _declined_stem(word: str) -> str | None:
    """Rule 2's other surnames that decline (the men's; the women's forms do not): Ukrainian
    -енко in Ukrainian (Лук'яненка), -ук/-юк and -ич (Ковальчука, Протасевича), Armenian -ян
    after a consonant (Арутюняна; not Татьяна or Ульяна); None for any other word. "-ові"
    only after -енк: Бажукові is Бажуков's, not a Бажук's."""
    for ending in _DECLINED_ENDINGS:
        stem = word[: -len(ending)]
        if not word.endswith(ending) or len(stem) < 5:
            continue
        if stem.endswith("енк"):
            return stem + "о"
        if ending == "ові":
            continue
        if stem.endswith(("ук", "юк", "ич")) or (stem.endswith("ян") and stem[-3] in _CONSONANTS):
            return stem
    return None


def _latin_form(word: str) -> str:
    """Rule 4's Latin ё, and a woman's form of an adjective-like surname as the man's."""
    word = _LATIN_NAYA.sub("ny", _LATIN_SKAYA.sub(r"\1i", word))
    return _YO.sub("e", word)


def _latin_base(word: str) -> str:
    for ending in ("ova", "eva", "ina", "yna"):
        if word.endswith(ending) and len(word) > 5:
            return word[:-1]
    return word


def _skeleton(word: str) -> str:
    for old, new in _SKELETON:
        word = word.replace(old, new)
    chars: list[str] = []
    for i, letter in enumerate(word):
        prev = chars[-1] if chars else ""
        nxt = word[i + 1] if i + 1 < len(word) else ""
        ch = letter
        if ch in "yj" and prev in _VOWELS:
            if nxt in _VOWELS:
                continue  # Movlayev, Tugelbayev: a glide between vowels
            ch = "i"
        elif ch == "y":
            ch = "i"
        if ch == prev:
            continue
        chars.append(ch)
    return _SOFT_E.sub("e", "".join(chars))
