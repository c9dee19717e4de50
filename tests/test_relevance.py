"""Relevance classifier: tricky cases, the seed article, lexicon extension and the CLI."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import ConfigError
from bot.relevance import LEXICON_EXTENSION_HELP, Classifier
from bot.relevance.cli import run_classify
from bot.relevance.lexicon import parse_term
from bot.relevance.text import WordCache
from bot.words import fold, unbroken

SEED = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "seed"
    / "2026-02-03-kazakhstan-extraditions.ru.txt"
)


class Case(NamedTuple):
    name: str
    title: str
    summary: str
    lang: str
    relevant: bool
    countries: tuple[str, ...]  # must all be present
    action: str | None


CASES = [
    Case(
        "visa issuance",
        "Казахстан упростил выдачу виз россиянам",
        "Выдача виз гражданам России займет три дня.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "prisoner-of-war exchange",
        "Россия и Украина провели обмен военнопленными",
        "Россия передала Украине 300 пленных, посредником выступили ОАЭ.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "US-UK extradition",
        "UK approves extradition of British hacker to the US",
        "Lauri Love faces charges of hacking NASA computers.",
        "en",
        False,
        (),
        None,
    ),
    Case(
        "labour migrants from Russia",
        "Из Москвы выдворили 5 тысяч нелегальных мигрантов",
        "Чаще всего депортировали граждан Узбекистана и Таджикистана.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "expelled diplomats",
        "Грузия выслала российских дипломатов",
        "Сотрудникам посольства предписано покинуть Тбилиси.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "1944 deportation of Chechens",
        "80 лет депортации чеченцев и ингушей в Казахстан",
        "В 1944 году сталинский режим выслал полмиллиона человек.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "sport",
        "Сборная Казахстана выдала лучший матч, обыграв Россию",
        "Футболисты победили в Астане 2:1.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "ordinary-crime extradition (borderline)",
        "Казахстан экстрадировал в Россию подозреваемого в убийстве",
        "Мужчину передали российскому конвою.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "entry ban without return (borderline)",
        "Сербия запретила въезд российскому журналисту",
        "Ему вручили решение о запрете въезда, он улетел в Стамбул.",
        "ru",
        False,
        (),
        None,
    ),
    Case(
        "Ukrainian-language report",
        "Киргизстан передав Росії антивоєнного активіста",
        "Активіста затримали в Бішкеку та передали російським силовикам.",
        "uk",
        True,
        ("KG", "RU"),
        "extradition",
    ),
    Case(
        "Kazakh-language report",
        "Қазақстан Ресейге соғысқа қарсы белсенділерді ұстап беріп жатыр",
        "Ресей әскерінен қашқан дезертир ресейлік әскери полицияға тапсырылды.",
        "kk",
        True,
        ("KZ", "RU"),
        "extradition",
    ),
    Case(
        "deserter detained at Moscow's request",
        "Russian deserter detained in Yerevan",
        "Armenian police detained a Russian citizen wanted for deserting the army.",
        "en",
        True,
        ("AM", "RU"),
        "detention",
    ),
    Case(
        "court suspends extradition (policy)",
        "Верховный суд Казахстана приостановил экстрадицию чеченского активиста",
        "Активиста не могут выдать России до решения по убежищу.",
        "ru",
        True,
        ("KZ", "RU"),
        "policy",
    ),
    # "РФ" for Russia after передать/передати ("передать росси*" did not cover it)
    Case(
        "handed over to the RF",
        "Казахстан передал РФ дезертира Бажукова",
        "",
        "ru",
        True,
        ("KZ", "RU"),
        "extradition",
    ),
    Case(
        "handed over into the RF",
        "Казахстан передал в РФ дезертира",
        "Его задержали в Алматы.",
        "ru",
        True,
        ("KZ", "RU"),
        "extradition",
    ),
    Case(
        "handed over to the RF (uk)",
        "Казахстан передав РФ дезертира Бажукова",
        "",
        "uk",
        True,
        ("KZ", "RU"),
        "extradition",
    ),
]


def _yes(
    name: str, lang: str, title: str, summary: str, *, countries: tuple[str, ...], action: str
) -> Case:
    return Case(name, title, summary, lang, True, countries, action)


def _no(name: str, lang: str, title: str, summary: str = "") -> Case:
    return Case(name, title, summary, lang, False, (), None)


# Families of fixes after a review on news outside the dev set (written afresh, not copied from
# it). A family that narrows the lexicon has negatives that were relevant before its fix and
# positives that keep what it must not lose; one that widens it, the other way round.
FAMILY_CASES = [
    # 1. Kazakh, Uzbek, Tajik and Turkish words that are also "hand in, instruct", "active",
    #    "housing", "political", "refund": handed over only to a state, the rest only as nouns.
    _no(
        "kk: instructed, active, housing",
        "kk",
        "Тоқаев Үкіметке баспана бағдарламасын жеделдетуді тапсырды",
        "Қазақстанда белсенді жастар жаңа пәтер алады.",
    ),
    _no(
        "uz: keys handed over, active youth",
        "uz",
        "Samarqandda yosh oilalarga boshpana kalitlari topshirildi",
        "O‘zbekiston bo‘yicha faol yoshlar taqdirlandi.",
    ),
    _no(
        "tg: a task, not a handover",
        "tg",
        "Тоҷикистон: Раҳмон ба фаъолони ҷавон супориши нав дод",
    ),
    _no(
        "tr: ticket refund amid political tension",
        "tr",
        "Türkiye ile Rusya arasındaki siyasi kriz: uçak bilet ücretleri iade edilecek",
    ),
    _yes(
        "kk: handed over to Russia",
        "kk",
        "Қазақстан соғысқа қарсы белсендіні Ресейге тапсырды",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "uz: handed over to the Russian side",
        "uz",
        "Qozog‘iston rossiyalik dezertirni Rossiya tomoniga topshirdi",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "kk: asked for asylum",
        "kk",
        "Ресейлік журналист Алматыда ұсталды",
        "Ол Қазақстаннан саяси баспана сұраған.",
        countries=("KZ", "RU"),
        action="detention",
    ),
    _yes(
        "tr: extradited to Russia",
        "tr",
        "Türkiye savaş karşıtı Rus gazeteciyi Rusya'ya iade etti",
        "",
        countries=("TR", "RU"),
        action="extradition",
    ),
    # 2. Journalists as the audience of a statement, and English "criticism", are no target.
    _no(
        "ru: told journalists",
        "ru",
        "Узбекистан экстрадировал в Россию обвиняемого в растрате, сообщили журналистам в МВД",
    ),
    _no(
        "uk: told journalists",
        "uk",
        "Грузія екстрадувала до Росії підозрюваного у крадіжці",
        "Про це журналістам повідомили в прокуратурі.",
    ),
    _no(
        "en: told journalists",
        "en",
        "Kazakhstan deports Russian tourist after a brawl in Almaty",
        "Police told journalists the man had overstayed his visa.",
    ),
    _no(
        "en: criticism is not a critic",
        "en",
        "Armenia extradites Russian fraud suspect; the ruling drew criticism",
    ),
    _no(
        "tr: told journalists",
        "tr",
        "Türkiye dolandırıcılık şüphelisi Rus'u Rusya'ya iade etti",
        "Emniyet müdürü gazetecilere açıklama yaptı.",
    ),
    _yes(
        "en: Kremlin critic",
        "en",
        "Kyrgyzstan deports Kremlin critic to Russia",
        "",
        countries=("KG", "RU"),
        action="deportation",
    ),
    _yes(
        "en: critic of the war",
        "en",
        "Serbia expels a Russian citizen, a vocal critic of the war",
        "",
        countries=("RS", "RU"),
        action="deportation",
    ),
    _yes(
        "ru: a journalist handed over, reported by journalists",
        "ru",
        "Армения выдала России журналиста",
        "Об этом журналистам сообщили его адвокаты.",
        countries=("AM", "RU"),
        action="extradition",
    ),
    # 3. Russia as a model law or a language, not a party.
    _no(
        "ru: protest against the 'Russian law'",
        "ru",
        "В Батуми задержали активистов, протестовавших против «российского закона»",
    ),
    _no(
        "ru: Russian language law",
        "ru",
        "В Шымкенте арестован блогер, критиковавший закон о русском языке",
    ),
    _no(
        "en: Russian-style law",
        "en",
        "Kyrgyz police detain journalists protesting a Russian-style foreign agents law",
    ),
    _no(
        "uk: Russian law",
        "uk",
        "У Тбілісі затримали опозиціонерів на акції проти «російського закону»",
    ),
    _yes(
        "ru: a Russian activist detained in Tbilisi",
        "ru",
        "В Тбилиси задержан российский активист по запросу Москвы",
        "",
        countries=("GE", "RU"),
        action="detention",
    ),
    # 4. Handovers and returns said in other words, and destinations in the persecuting state
    #    standing in for a sending state outside the region.
    _yes(
        "ru: convoyed to Russia",
        "ru",
        "Армения этапировала в Россию дезертира",
        "",
        countries=("AM", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: surrendered to Russia",
        "ru",
        "Киргизия сдала России антивоенного активиста",
        "",
        countries=("KG", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: brought to Moscow",
        "ru",
        "Оппозиционера из Бишкека доставили в Москву спецрейсом",
        "",
        countries=("KG", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: handed to the FSB",
        "ru",
        "Российского активиста задержали в Ереване и передали ФСБ",
        "",
        countries=("AM", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: put on a plane to Moscow",
        "ru",
        "Журналиста посадили на самолёт в Москву прямо в аэропорту Стамбула",
        "",
        countries=("TR", "RU"),
        action="deportation",
    ),
    _yes(
        "ru: taken away to Chechnya",
        "ru",
        "Критика Кадырова вывезли из Баку в Чечню",
        "",
        countries=("AZ", "RU"),
        action="abduction",
    ),
    _yes(
        "en: hands to Russian authorities",
        "en",
        "Kyrgyzstan hands anti-war blogger to Russian authorities",
        "",
        countries=("KG", "RU"),
        action="extradition",
    ),
    _yes(
        "en: sends back, a hyphen between",
        "en",
        "Armenia sends anti-war activist back to Russia",
        "",
        countries=("AM", "RU"),
        action="deportation",
    ),
    _yes(
        "en: transferred to Russia",
        "en",
        "Deserter transferred to Russia from Kazakhstan",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "en: put on a plane",
        "en",
        "Georgia puts Russian dissident on a plane to Moscow",
        "",
        countries=("GE", "RU"),
        action="deportation",
    ),
    _yes(
        "en: flown back",
        "en",
        "Belarusian dissident flown back to Minsk from Istanbul",
        "",
        countries=("TR", "BY"),
        action="deportation",
    ),
    _yes(
        "uk: extradites (present tense)",
        "uk",
        "Казахстан екстрадує до Росії антивоєнного активіста",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "uk: returned to Russia",
        "uk",
        "Вірменія повернула до Росії дезертира",
        "",
        countries=("AM", "RU"),
        action="deportation",
    ),
    _yes(
        "kk: returned to Russia",
        "kk",
        "Қазақстан ресейлік дезертирді Ресейге қайтарды",
        "",
        countries=("KZ", "RU"),
        action="deportation",
    ),
    _yes(
        "ky: expelled from the country",
        "ky",
        "Кыргызстан орусиялык активистти өлкөдөн чыгарды",
        "",
        countries=("KG", "RU"),
        action="deportation",
    ),
    _yes(
        "uz: returned to Russia",
        "uz",
        "Qozog‘iston rossiyalik dezertirni Rossiyaga qaytardi",
        "",
        countries=("KZ", "RU"),
        action="deportation",
    ),
    _yes(
        "tr: at Russia's request",
        "tr",
        "Türkiye, Rus muhalif gazeteci hakkında Rusya'nın talebi üzerine soruşturma başlattı",
        "",
        countries=("TR", "RU"),
        action="wanted-list",
    ),
    _yes(
        "sr: arrested at Moscow's request",
        "sr",
        "Srbija uhapsila ruskog aktivistu na zahtev Moskve",
        "",
        countries=("RS", "RU"),
        action="detention",
    ),
    _yes(
        "ru: deported to Russia from outside the region",
        "ru",
        "Франция депортировала в Россию чеченского блогера",
        "",
        countries=("RU",),
        action="deportation",
    ),
    _yes(
        "en: deported to Russia from outside the region",
        "en",
        "Germany deports Chechen dissident to Russia",
        "",
        countries=("RU",),
        action="deportation",
    ),
    _no(
        "ru: Russia expels a foreign journalist, no destination",
        "ru",
        "Россия выслала американского журналиста",
    ),
    _no("ru: a transfer between Russian jails", "ru", "Блогера этапировали в СИЗО Москвы"),
    _no(
        "tr: turned back at a border, not to Russia",
        "tr",
        "Rus gazeteci Gürcistan sınırından geri gönderildi",
    ),
    _no(
        "en: a flight to Istanbul is no return",
        "en",
        "Georgia puts Russian activist on a flight to Istanbul after entry ban",
    ),
    # 5. Names of countries, cities and border crossings in more languages.
    _yes(
        "uk: Serbia",
        "uk",
        "Сербія видала Росії антивоєнного активіста",
        "",
        countries=("RS", "RU"),
        action="extradition",
    ),
    _yes(
        "sr: Montenegro",
        "sr",
        "Crna Gora izručila Rusiji ruskog aktivistu",
        "",
        countries=("ME", "RU"),
        action="extradition",
    ),
    _yes(
        "uz: Georgia",
        "uz",
        "Gruziyada rossiyalik bloger Moskvaning so‘rovi bilan ushlandi",
        "",
        countries=("GE", "RU"),
        action="detention",
    ),
    _yes(
        "uz: Armenia",
        "uz",
        "Armanistonda rossiyalik dezertir ushlandi",
        "",
        countries=("AM", "RU"),
        action="detention",
    ),
    _yes(
        "tr: Chechen",
        "tr",
        "Gürcistan, Kadirov muhalifi Çeçen aktivisti iade etti",
        "",
        countries=("GE", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: a Kazakh city",
        "ru",
        "В Костанае задержан дезертир",
        "",
        countries=("KZ", "RU"),
        action="detention",
    ),
    _yes(
        "ru: the Upper Lars crossing",
        "ru",
        "Дезертира задержали на Верхнем Ларсе по запросу Москвы",
        "",
        countries=("GE", "RU"),
        action="detention",
    ),
    _yes(
        "ru: Yerevan airport",
        "ru",
        "В Звартноце задержан оппозиционер, объявленный Россией в розыск",
        "",
        countries=("AM", "RU"),
        action="detention",
    ),
    _yes(
        "en: Grozny",
        "en",
        "Blogger who fled Grozny detained in Phuket",
        "",
        countries=("TH", "RU"),
        action="detention",
    ),
    _no(
        "ru: the Peter and Paul Fortress is no Kazakh city",
        "ru",
        "У Петропавловской крепости задержали активистов",
    ),
    # 6. Who is persecuted, in more words: soldiers who left, LGBT people, feminists, donors.
    _yes(
        "ru: a mobilised man",
        "ru",
        "Казахстан выдал России мобилизованного",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: a contract soldier",
        "ru",
        "Армения задержала контрактника по запросу Москвы",
        "",
        countries=("AM", "RU"),
        action="detention",
    ),
    _yes(
        "ru: refused to take part in the war",
        "ru",
        "Из Грузии депортирован россиянин, отказавшийся участвовать в СВО",
        "",
        countries=("GE", "RU"),
        action="deportation",
    ),
    _yes(
        "ru: ran away from the army",
        "ru",
        "Кыргызстан выдал России солдата, сбежавшего из армии",
        "",
        countries=("KG", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: a gay man",
        "ru",
        "Чеченского гея задержали в Ереване по запросу Грозного",
        "",
        countries=("AM", "RU"),
        action="detention",
    ),
    _yes(
        "ru: a feminist",
        "ru",
        "Феминистку из Чечни задержали в Тбилиси",
        "",
        countries=("GE", "RU"),
        action="detention",
    ),
    _yes(
        "ru: Pussy Riot",
        "ru",
        "Участницу Pussy Riot задержали в Стамбуле по запросу России",
        "",
        countries=("TR", "RU"),
        action="detention",
    ),
    _yes(
        "ru: a donor",
        "ru",
        "ОАЭ выдали России донатера ФБК",
        "",
        countries=("AE", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: condemned the invasion",
        "ru",
        "Казахстан экстрадировал россиянина, осудившего вторжение в Украину",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: fled domestic violence",
        "ru",
        "Бежавшую от домашнего насилия чеченку задержали в Баку",
        "",
        countries=("AZ", "RU"),
        action="detention",
    ),
    _yes(
        "en: mobilised soldier",
        "en",
        "Kazakhstan extradites mobilised soldier to Russia",
        "",
        countries=("KZ", "RU"),
        action="extradition",
    ),
    _yes(
        "en: refused to fight",
        "en",
        "Armenia detains Russian who refused to fight in Ukraine",
        "",
        countries=("AM", "RU"),
        action="detention",
    ),
    _yes(
        "en: fled the draft",
        "en",
        "Georgia deports Russian man who fled the draft",
        "",
        countries=("GE", "RU"),
        action="deportation",
    ),
    _yes(
        "en: war resister",
        "en",
        "Serbia detains Russian war resister",
        "",
        countries=("RS", "RU"),
        action="detention",
    ),
    _yes(
        "en: AWOL",
        "en",
        "AWOL Russian soldier detained in Almaty",
        "",
        countries=("KZ", "RU"),
        action="detention",
    ),
    _yes(
        "en: defector",
        "en",
        "Kyrgyzstan hands over Russian defector",
        "",
        countries=("KG", "RU"),
        action="extradition",
    ),
    _yes(
        "en: gay Chechen",
        "en",
        "Gay Chechen man detained in Yerevan at Russia's request",
        "",
        countries=("AM", "RU"),
        action="detention",
    ),
    _yes(
        "en: Kadyrov opponent",
        "en",
        "Kadyrov opponent detained in Istanbul",
        "",
        countries=("TR", "RU"),
        action="detention",
    ),
    _yes(
        "uk: refused to fight",
        "uk",
        "Вірменія видала Росії чоловіка, який відмовився воювати",
        "",
        countries=("AM", "RU"),
        action="extradition",
    ),
    _yes(
        "ky: ran away from the army",
        "ky",
        "Аскерден качкан орусиялык Бишкекте кармалды",
        "",
        countries=("KG", "RU"),
        action="detention",
    ),
    _yes(
        "tr: deserter",
        "tr",
        "Firari Rus asker İstanbul'da gözaltına alındı",
        "",
        countries=("TR", "RU"),
        action="detention",
    ),
    _no("ru: Sochi is no target", "ru", "Казахстанского туриста задержали в Сочи"),
    _no(
        "en: a boxer's opponent", "en", "Kazakh boxer's opponent detained in Moscow after the fight"
    ),
    _no(
        "en: mobility is no mobilisation",
        "en",
        "Kyrgyzstan detains Russian over a mobility app fraud",
    ),
    # 7. Off-topic markers that were a first name (Роман) or any illegal border crossing.
    _yes(
        "ru: Roman is a first name",
        "ru",
        "Армения выдала России Романа Иванова",
        "Он дезертировал из армии в 2023 году.",
        countries=("AM", "RU"),
        action="extradition",
    ),
    _yes(
        "ru: crossed the border illegally, no labour migrant",
        "ru",
        "Кыргызстан выдворил россиянина, нелегально въехавшего в страну",
        "Это дезертир, бежавший от мобилизации.",
        countries=("KG", "RU"),
        action="deportation",
    ),
    _no(
        "ru: illegal migrants still cancel",
        "ru",
        "Киргизия выслала в Россию нелегалов",
        "Среди них был блогер.",
    ),
    _no(
        "ru: a novel still cancels",
        "ru",
        "В новом романе казахстанская полиция выдаёт России беглеца",
        "Герой книги — дезертир.",
    ),
    # 3, continued: a tourist's misconduct cancels even beside a target (bloggers, influencers).
    _no(
        "ru: nude photos in a temple",
        "ru",
        "Таиланд депортирует российскую блогершу за голые фото в храме",
    ),
    _no(
        "en: naked photo shoot at a sacred site",
        "en",
        "Indonesia deports Russian blogger over naked photo shoot at a sacred site in Bali",
    ),
    _yes(
        "ru: a temple alone is no misconduct",
        "ru",
        "Участницу Pussy Riot, выступавшую в храме, депортировали из ОАЭ в Россию",
        "",
        countries=("AE", "RU"),
        action="deportation",
    ),
]


def _check(classifier: Classifier, case: Case) -> None:
    verdict = classifier.classify(case.title, case.summary, case.lang)
    assert verdict.relevant is case.relevant, verdict
    assert set(case.countries) <= set(verdict.countries), verdict
    if case.relevant:
        assert verdict.action == case.action, verdict
        assert any(reason.startswith("action:") for reason in verdict.reasons)
        assert any(reason.startswith("target:") for reason in verdict.reasons)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_tricky_cases(classifier: Classifier, case: Case) -> None:
    _check(classifier, case)


@pytest.mark.parametrize("case", FAMILY_CASES, ids=[case.name for case in FAMILY_CASES])
def test_review_families(classifier: Classifier, case: Case) -> None:
    _check(classifier, case)


def test_seed_article_is_an_extradition_from_kazakhstan(classifier: Classifier) -> None:
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdict = classifier.classify(lines[0], "\n".join(lines[1:]))
    assert verdict.relevant
    assert verdict.countries[:2] == ("KZ", "RU")
    assert verdict.action == "extradition"
    assert verdict.score >= 0.9


def test_issuance_cancels_only_the_issue_verb(classifier: Classifier) -> None:
    verdict = classifier.classify("Казахстан упростил выдачу виз россиянам-активистам", "")
    assert not verdict.relevant
    assert any(reason.startswith("cancelled:выдачу") for reason in verdict.reasons)


def test_same_words_without_visa_are_relevant(classifier: Classifier) -> None:
    verdict = classifier.classify("Казахстан согласовал выдачу России антивоенного активиста", "")
    assert verdict.relevant
    assert verdict.countries == ("KZ", "RU")


def test_analyzers_load_lazily_per_language() -> None:
    classifier = Classifier.from_extension()
    classifier.classify("Russian deserter detained in Yerevan", "")
    assert not classifier.loaded_languages
    classifier.classify("Активіста затримали в Бішкеку", "", "uk")
    assert classifier.loaded_languages == ("uk",)


def test_extension_adds_country_and_watchlist() -> None:
    extension = {
        "countries": {"MD": {"role": "transit", "terms": ["молдов*", "кишин*"]}},
        "watchlist": ["мовлаев*"],
    }
    classifier = Classifier.from_extension(extension)
    verdict = classifier.classify("Молдова выдала России Мансура Мовлаева", "")
    assert verdict.relevant
    assert verdict.countries == ("MD", "RU")
    assert "watch:мовлаева" in verdict.reasons
    assert not Classifier.from_extension().classify("Молдова выдала России Мовлаева", "").relevant


@pytest.mark.parametrize(
    ("extension", "key"),
    [
        ({"nonsense": []}, "nonsense"),
        ({"countries": {"kz": ["x*"]}}, "lexicon.countries.kz"),
        ({"countries": {"MD": ["молдов*"]}}, "lexicon.countries.MD.role"),
        ({"countries": {"KZ": {"role": "origin"}}}, "lexicon.countries.KZ.role"),
        ({"actions": {"teleport": {"strong": ["x"]}}}, "lexicon.actions.teleport"),
        ({"actions": {"deportation": {"mighty": ["x"]}}}, "lexicon.actions.deportation.mighty"),
        ({"targets": ["ok", "a*b"]}, "lexicon.targets[1]"),
        ({"targets": ["ab*"]}, "lexicon.targets[0]"),
        ({"targets": "activist"}, "lexicon.targets"),
        ({"issuance": {"window": 99}}, "lexicon.issuance.window"),
        ({"offtopic": {"Bad Kind": ["x"]}}, "lexicon.offtopic.Bad Kind"),
    ],
)
def test_bad_extension_names_the_key(extension: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        Classifier.from_extension(extension)


def test_term_syntax() -> None:
    words = parse_term("Нур-Султан*", "t")
    assert [(w.text, w.prefix) for w in words] == [("нур", False), ("султан", True)]
    assert parse_term("o‘zbekiston*", "t")[0].text == "ozbekiston"


def test_extension_help_is_documented() -> None:
    assert "watchlist" in LEXICON_EXTENSION_HELP
    assert "role" in LEXICON_EXTENSION_HELP


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.text(max_size=600), st.sampled_from([None, "ru", "uk", "kk"]))
def test_classify_is_total(title: str, summary: str, lang: str | None) -> None:
    verdict = _SHARED.classify(title, summary, lang)
    assert 0.0 <= verdict.score <= 1.0
    assert verdict.relevant == (verdict.score >= 0.5)
    assert all(len(code) == 2 and code.isupper() for code in verdict.countries)


_SHARED = Classifier.from_extension()


def test_run_classify_reports_bad_lines_and_goes_on(classifier: Classifier) -> None:
    lines = [
        json.dumps({"title": "Russian deserter detained in Yerevan", "summary": "", "link": "u"}),
        "not json",
        json.dumps({"title": 5, "summary": ""}),
        "",
        json.dumps(["a list"]),
        json.dumps({"title": "Погода в Алматы", "summary": "Снег", "lang": "ru"}),
    ]
    out = io.StringIO()
    status = run_classify(io.StringIO("\n".join(lines) + "\n"), out, classifier)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 1
    assert len(results) == 5
    assert results[0]["relevant"] is True
    assert results[0]["link"] == "u"
    assert results[0]["countries"] == ["AM", "RU"]
    assert set(results[0]) == {"relevant", "score", "countries", "action", "reasons", "link"}
    assert results[1]["error"].startswith("line 2: not JSON")
    assert "'title' must be a string" in results[2]["error"]
    assert results[3]["error"].startswith("line 5:")
    assert results[4]["relevant"] is False
    assert "link" not in results[4]


@pytest.mark.parametrize(
    ("line", "error"),
    [
        # json's parser recurses once per level: RecursionError, not JSONDecodeError
        ("[" * 100_000 + "]" * 100_000, "line 1: not JSON (nested too deeply)"),
        # past the limit of digits converted to an int (sys.get_int_max_str_digits): ValueError
        ('{"title": ' + "7" * 5000 + "}", "line 1: not JSON ("),
    ],
    ids=["nested", "digits"],
)
def test_run_classify_a_line_json_cannot_read_is_an_error_line_and_the_run_goes_on(
    classifier: Classifier, line: str, error: str
) -> None:
    good = json.dumps({"title": "Погода", "summary": ""})
    out = io.StringIO()
    status = run_classify(io.StringIO(f"{line}\n{good}\n"), out, classifier)
    bad, verdict = (json.loads(x) for x in out.getvalue().splitlines())
    assert (status, set(bad)) == (1, {"error"})
    assert bad["error"].startswith(error)
    assert verdict["relevant"] is False


def test_run_classify_all_good_exits_zero(classifier: Classifier) -> None:
    line = json.dumps({"title": "Погода", "summary": ""})
    assert run_classify(io.StringIO(line + "\n"), io.StringIO(), classifier) == 0


def test_word_cache_computes_once_per_word_and_language_within_one_bound() -> None:
    computed: list[tuple[str, str | None]] = []

    def upper(word: str, morph: str | None) -> str:
        computed.append((word, morph))
        return word.upper()

    cache = WordCache(upper, limit=3)
    assert cache.many(["суд", "суд", "bar"], "ru") == ["СУД", "СУД", "BAR"]
    assert cache.get("суд", "uk") == "СУД"  # another language is another entry
    assert computed == [("суд", "ru"), ("bar", "ru"), ("суд", "uk")]
    assert len(cache) == 3
    assert cache.get("x", None) == "X"  # the bound counts every language: it starts over
    assert len(cache) == 1
    assert cache.get("суд", "ru") == "СУД"
    assert computed[-1] == ("суд", "ru")


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Казахстан ВЫДАЛ", "казахстан выдал"),  # nothing to unify: only lower-cased
        ("Семён Бажуков", "семен бажуков"),
        ("ЁЛКИН", "елкин"),
        ("Russia's", "russias"),
        ("Russia’s o‘zbek пʼять ʻa `b´c", "russias ozbek пять a bc"),
        ("İstanbul", "istanbul"),  # not "i̇stanbul" with a combining dot
        ("", ""),
        # Decomposed (NFD, from macOS or a PDF): й as и + breve, ё as е + diaeresis, ї, é
        ("Зуи\u0306ков Е\u0308лкин \u0456\u0308 cafe\u0301", "зуйков елкин ї café"),
        # Stress marks, acute or grave, composed (ѐ, ѝ) or not
        ("Зуйко\u0301ва Зуйко\u0300ва", "зуйкова зуйкова"),
        ("Петрови\u0300ч Петровѝч Ѐлкин се\u0300ло", "петрович петрович елкин село"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "unbroken_text"),
    [
        ("Зуи\u0306кова", "Зуйкова"),
        ("Зуйко\u0300ва Петрови\u0300ч Ѐлкин О’Нил", "Зуйкова Петрович Елкин ОНил"),
    ],
)
def test_unbroken_drops_what_fold_drops_and_keeps_the_case(text: str, unbroken_text: str) -> None:
    assert unbroken(text) == unbroken_text
    assert fold(text) == unbroken_text.lower()
