"""Pure merging parts: people's keys, MinHash fingerprints and the merge rules (table-driven)."""

from __future__ import annotations

import pytest

from bot.fingerprint import BANDS, BINS, Fingerprinter, bands, minhash, similarity, unpack
from bot.merge import DAY, Candidate, Features, choose, countries_meet
from bot.people import is_surname_key, person_keys

RU = (
    "Казахстан выдал России дезертира Семёна Бажукова",
    "Власти Казахстана передали российским военным дезертира Семёна Бажукова, который просил "
    "убежища. Правозащитники называют выдачу нарушением международного права.",
)


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        (*RU, {"bashukov", "semena"}),
        (
            "Kazakhstan Hands Over Russian Army Deserter Bazhukov To Moscow",
            "On Monday Kazakh police handed him over, Human Rights Watch said.",
            {"bashukov"},
        ),
        ("В Ереване задержан активист", "Об этом сообщили в МВД Армении в понедельник.", set()),
        (
            "Police detain activist",
            "Police in Bishkek detained Alexei Rybakov. Earlier Kyrgyzstan deported Timur Saidov. "
            "Third sentence. Kasimov was extradited in 2024.",
            {"aleksei", "ribakov", "timur", "saidov"},
        ),
    ],
)
def test_person_keys(title: str, summary: str, expected: set[str]) -> None:
    assert person_keys(title, summary) == expected


def test_surname_keys() -> None:
    assert all(map(is_surname_key, ["bashukov", "kovalenko", "setrakov", "nikitin"]))
    assert not any(map(is_surname_key, ["semena", "aleksei", "timur"]))


def test_fingerprint_finds_republished_text_and_not_rewrites() -> None:
    fp = Fingerprinter()
    original = fp.fingerprint(*RU, "ru")
    copy = fp.fingerprint(RU[0] + " (обновлено)", RU[1] + " Источник: ОВД-Инфо.", "ru")
    other = fp.fingerprint(
        "Казахстан экстрадировал в Россию дезертира Никиту Журавлёва",
        "Генпрокуратура Казахстана выдала России военнослужащего Никиту Журавлёва.",
        "ru",
    )
    assert len(original.signature) == BINS
    assert similarity(original.signature, copy.signature) >= 0.5
    assert set(original.bands) & set(copy.bands)
    assert similarity(original.signature, other.signature) < 0.5
    assert unpack(original.pack()) == original.signature


def test_minhash_estimates_jaccard() -> None:
    a = {f"w{i}" for i in range(200)}
    b = {f"w{i}" for i in range(100, 300)}  # Jaccard 1/3
    assert abs(similarity(minhash(a), minhash(b)) - 1 / 3) < 0.2
    assert similarity(minhash(a), minhash(a)) == 1.0
    assert minhash([]) == () == bands(())
    assert len(bands(minhash(a))) == BANDS


T = 1_000_000.0
SIG = minhash({f"s{i}" for i in range(40)})
OTHER_SIG = minhash({f"o{i}" for i in range(40)})


def feat(
    names: set[str],
    action: str | None = "extradition",
    countries: set[str] | None = None,
    at: float = T,
) -> Features:
    return Features(at, frozenset(names), frozenset(countries or {"KZ", "RU"}), action)


@pytest.mark.parametrize(
    ("report", "signature", "story", "story_sig", "merged"),
    [
        # same people, action and transit country, another language: merged
        (feat({"bashukov", "semion"}), OTHER_SIG, feat({"bashukov", "semena"}), SIG, True),
        # two different people, same country, action and day: two stories
        (feat({"shuravlev", "nikita"}), OTHER_SIG, feat({"bashukov", "semena"}), SIG, False),
        # same person, a later development (detention, then extradition): two stories
        (feat({"movlaev"}, "detention"), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # same person and action, but in another transit country: two stories
        (feat({"movlaev"}, countries={"AM", "RU"}), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # same person and action, five days apart: beyond the entity window
        (feat({"movlaev"}, at=T + 5 * DAY), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # no action on the report: names alone never merge
        (feat({"movlaev"}, None), OTHER_SIG, feat({"movlaev"}), SIG, False),
        # a re-publication (same text), even without names or action: merged
        (feat(set(), None), SIG, feat({"movlaev"}), SIG, True),
        # the same text re-used for another person: two stories
        (feat({"shuravlev"}), SIG, feat({"bashukov"}), SIG, False),
        # same text, but eight days later: beyond the window
        (feat(set(), at=T + 8 * DAY), SIG, feat(set()), SIG, False),
    ],
)
def test_merge_rules(
    report: Features,
    signature: tuple[int, ...],
    story: Features,
    story_sig: tuple[int, ...],
    merged: bool,
) -> None:
    match = choose(report, signature, [Candidate(7, story, (story_sig,))])
    assert (match is not None) is merged


def test_best_candidate_shares_most_names() -> None:
    report = feat({"bashukov", "semena"})
    weak = Candidate(1, feat({"bashukov", "aleksei"}), (OTHER_SIG,))
    strong = Candidate(2, feat({"bashukov", "semena"}), (OTHER_SIG,))
    match = choose(report, SIG, [weak, strong])
    assert match is not None
    assert (match.story_id, match.reason) == (2, "entity")


@pytest.mark.parametrize(
    ("a", "b", "meet"),
    [({"KZ", "RU"}, {"KZ"}, True), ({"KZ", "RU"}, {"KG", "RU"}, False), ({"RU"}, {"AM"}, True)],
)
def test_transit_countries(a: set[str], b: set[str], meet: bool) -> None:
    assert countries_meet(frozenset(a), frozenset(b)) is meet
