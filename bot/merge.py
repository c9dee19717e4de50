"""Does a new report belong to a story we already have? Pure: the storage finds the candidate
stories through its indexes (LSH bands, people's name keys, the time window) and this module
decides. The rules (this docstring is the spec):

A report joins a candidate story when it is within `WINDOW` (7 days) of it and either

1. **Same text**: its MinHash similarity with any of the story's sources is at least
   `bot.fingerprint.TEXT_THRESHOLD` (0.5), unless they are about other people
   (`other_people`: both name surnames and share no person's; a template re-used for another
   person, or one channel's two cases under its standing footer, are two cases, whatever first
   name or outlet they share) or both have an action and the actions differ (that channel's
   post on the extradition after its post on the detention is news); or
2. **Same case event** (across outlets and languages): within `ENTITY_WINDOW` (3 days) of the
   story, both name people and share at least one (name keys, so Бажукова meets Bazhukov):
   when either names a surname (`bot.people.is_surname_key`), a person's surname must be
   shared (a first name alone is not a person: "Тимур" or "Vladimir" is in many cases); only
   when neither does must the shared names be at least half of the smaller name set. Both
   have an action from the relevance verdict and it is the same one (a detention and a later
   extradition ruling about the same person are two events), and their transit countries meet
   (the countries other than Russia and Belarus; a side that has none is compatible).

A shared surname is no shared person when both sides give it first names and none of them
meet (`bot.people.namesakes`: Дмитрий Смирнов and Алексей Смирнов, one hour apart, are two
cases); a side that names the surname alone (Смирнов), or the same first name in another case
or script (Дмитрия, Dmitry), shares the person.

Actions compare by kind (`same_action`): an extradition and a deportation are one kind, the
handover, since outlets call one handover either (выдал, депортировал, выслал). An abduction
stays its own: it is often reported before anyone knows the person was handed over, and that
handover is news (a second alert costs less than a lost one).

Of several candidates the one with the most shared names, then the most similar text, then the
newest wins. Known limits: two events of the same kind about the same person within three
days (detained, released, detained again) merge; a report naming nobody merges only by text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from bot.fingerprint import TEXT_THRESHOLD, similarity
from bot.people import namesakes, surnames

DAY: Final = 86400.0
WINDOW: Final = 7 * DAY
ENTITY_WINDOW: Final = 3 * DAY
MIN_NAME_OVERLAP: Final = 0.5
ORIGIN_COUNTRIES: Final = frozenset({"RU", "BY"})
_ACTION_KINDS: Final = {"extradition": "handover", "deportation": "handover"}


@dataclass(frozen=True, slots=True)
class Features:
    """What merging compares: a new report, or a story built from its sources."""

    when: float
    names: frozenset[str]
    countries: frozenset[str]
    action: str | None
    first_names: frozenset[str] = frozenset()  # `bot.people.NamedPeople.first_names`


@dataclass(frozen=True, slots=True)
class Candidate:
    story_id: int
    features: Features
    signatures: tuple[tuple[int, ...], ...]  # its newest sources'; verbatim copies have none


@dataclass(frozen=True, slots=True)
class Match:
    story_id: int
    reason: str  # "text" or "entity", for logs and the dev-set report
    text_similarity: float
    shared_names: int


def choose(
    report: Features, signature: Sequence[int], candidates: Sequence[Candidate]
) -> Match | None:
    """The story the report belongs to, or None for a new story."""
    best: tuple[tuple[int, float, float], Match] | None = None
    for candidate in candidates:
        match = judge(report, signature, candidate)
        if match is None:
            continue
        rank = (match.shared_names, match.text_similarity, candidate.features.when)
        if best is None or rank > best[0]:
            best = (rank, match)
    return None if best is None else best[1]


def judge(report: Features, signature: Sequence[int], candidate: Candidate) -> Match | None:
    story = candidate.features
    apart = abs(report.when - story.when)
    if apart > WINDOW:
        return None
    text = max((similarity(signature, s) for s in candidate.signatures), default=0.0)
    shared = len(report.names & story.names)
    if text >= TEXT_THRESHOLD and _text_may_join(report, story):
        return Match(candidate.story_id, "text", text, shared)
    if apart <= ENTITY_WINDOW and _same_event(report, story, shared):
        return Match(candidate.story_id, "entity", text, shared)
    return None


def _text_may_join(report: Features, story: Features) -> bool:
    if other_people(report.names, story.names, report.first_names, story.first_names):
        return False
    return report.action is None or story.action is None or same_action(report, story)


def _same_event(report: Features, story: Features, shared: int) -> bool:
    if shared == 0 or not _same_people(report, story, shared):
        return False
    if report.action is None or not same_action(report, story):
        return False
    return countries_meet(report.countries, story.countries)


def same_action(a: Features, b: Features) -> bool:
    """Whether both have an action and it is one kind of event (see the module docstring)."""
    if a.action is None or b.action is None:
        return False
    return _ACTION_KINDS.get(a.action, a.action) == _ACTION_KINDS.get(b.action, b.action)


def _same_people(a: Features, b: Features, shared: int) -> bool:
    surnames_a, surnames_b = surnames(a.names), surnames(b.names)
    if surnames_a or surnames_b:
        return bool(_people_shared(surnames_a & surnames_b, a.first_names, b.first_names))
    return shared / min(len(a.names), len(b.names)) >= MIN_NAME_OVERLAP


def other_people(
    a: Iterable[str],
    b: Iterable[str],
    first_a: frozenset[str] = frozenset(),
    first_b: frozenset[str] = frozenset(),
) -> bool:
    """Whether two name-key sets (with their `first_names`) are about other people: both name
    surnames, and no person's is shared (a namesake's is not)."""
    surnames_a, surnames_b = surnames(a), surnames(b)
    if not surnames_a or not surnames_b:
        return False
    return not _people_shared(surnames_a & surnames_b, first_a, first_b)


def _people_shared(shared: set[str], first_a: frozenset[str], first_b: frozenset[str]) -> set[str]:
    """The shared surnames that are one person's: not two namesakes'."""
    return shared - namesakes(first_a, first_b) if shared else shared


def countries_meet(a: frozenset[str], b: frozenset[str]) -> bool:
    transit_a, transit_b = a - ORIGIN_COUNTRIES, b - ORIGIN_COUNTRIES
    return not transit_a or not transit_b or bool(transit_a & transit_b)
