"""Turn term hits into a `Verdict`: cancel, weigh, explain.

score = action × target × link × placement, each factor in [0, 1]; relevant when score >= 0.5.

* action: 1.0 for a strong action (extradite, deport, abduct, hand over, extradition arrest),
  0.75 for a weak one (detain, wanted list, request, asylum refused); 0 when none survives.
  An "issue" verb (выдача, видати) is cancelled by an issued object (визы, паспортов, кредит)
  within the issuance window after it or two words before it. Every action in a sentence with
  an off-topic marker (prisoners of war, diplomats, labour migrants, history, sport, fiction) is
  cancelled unless that sentence also names a target. A "misconduct" marker (a tourist's nude
  photo at a sacred site, a drunken brawl) cancels even beside a target: the blogger deported
  from Bali for it is an influencer, not a persecuted critic.
* target: 1.0 when a target (activist, deserter, critic, asylum seeker, watch-listed name, ...)
  shares a sentence with a surviving action, 0.95 when both are in the title and lead, 0.85 when
  both are elsewhere in the entry, 0.3 when there is none (so no target, no alert).
* link: 1.0 with two or more region countries; with one, 0.8 if the action is strong and
  either the country is a Central Asian or Caucasian state that persecutes its own (role
  "both") or a sentence with a strong action names the persecuting state as the destination
  (a `returns` phrase: "в Россию", "to Moscow", "Ресейге": France deports a Chechen blogger to
  Russia, the sending state being outside the region), else 0.4; 0.3 with none. "Russia expels
  a foreign journalist" names no destination, so it stays at 0.4.
* placement: 1.0 when an action is in the title or lead, else 0.9.

Place and target hits inside a mask phrase are dropped first: "Минская конвенция" is CIS law,
not Belarus; "сообщили журналистам", "told journalists" only say where the news came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from bot.model import Verdict
from bot.relevance.lexicon import ACTION_TYPES
from bot.relevance.matcher import Hit

THRESHOLD: Final = 0.5
LEAD: Final = 1  # sentence index of the lead; 0 is the title
_REASON_CAPS: Final = (
    ("action", 4),
    ("target", 3),
    ("watch", 2),
    ("place", 4),
    ("return", 1),
    ("policy", 1),
    ("crime", 2),
    ("cancelled", 2),
)
_STRENGTH: Final = {"strong": 1.0, "issue": 1.0, "weak": 0.75}
_ORIGIN_ONLY: Final = "origin"
_STRICT_OFFTOPIC: Final = frozenset({"misconduct"})  # cancels even beside a target


@dataclass(frozen=True, slots=True)
class _Actions:
    kept: list[Hit]
    cancelled: list[tuple[Hit, Hit]]  # (action, the hit that cancelled it)


def _by_concept(hits: Iterable[Hit]) -> dict[str, list[Hit]]:
    out: dict[str, list[Hit]] = {}
    for hit in hits:
        out.setdefault(hit.term.concept, []).append(hit)
    return out


def _unmasked(hits: list[Hit], masks: list[Hit]) -> list[Hit]:
    covered = {(m.sentence, i) for m in masks for i in range(m.start, m.end + 1)}
    return [h for h in hits if (h.sentence, h.start) not in covered]


def _filter_actions(concepts: dict[str, list[Hit]], window: int) -> _Actions:
    objects = concepts.get("issuance", [])
    offtopic = concepts.get("offtopic", [])
    target_sentences = {h.sentence for h in concepts.get("target", []) + concepts.get("watch", [])}
    kept: list[Hit] = []
    cancelled: list[tuple[Hit, Hit]] = []
    for action in concepts.get("action", []):
        blocker = None
        if action.term.strength == "issue":
            blocker = next(
                (
                    o
                    for o in objects
                    if o.sentence == action.sentence
                    and action.start - 2 <= o.start <= action.end + window
                    and o.start != action.start
                ),
                None,
            )
        if blocker is None:
            shielded = action.sentence in target_sentences
            blocker = next(
                (
                    o
                    for o in offtopic
                    if o.sentence == action.sentence
                    and (not shielded or o.term.label in _STRICT_OFFTOPIC)
                ),
                None,
            )
        if blocker is None:
            kept.append(action)
        else:
            cancelled.append((action, blocker))
    return _Actions(kept, cancelled)


def _countries(places: list[Hit]) -> list[str]:
    stats: dict[str, tuple[int, int, int]] = {}  # code -> (not in title/lead, -count, first)
    for order, hit in enumerate(places):
        code = hit.term.label
        early = 0 if hit.sentence <= LEAD else 1
        old = stats.get(code)
        if old is None:
            stats[code] = (early, -1, order)
        else:
            stats[code] = (min(old[0], early), old[1] - 1, old[2])
    return sorted(stats, key=lambda code: stats[code])


def _order_main_first(codes: list[str], roles: Mapping[str, str]) -> tuple[str, ...]:
    # The transit/handing-over state leads; Russia and Belarus (origin only) follow.
    return tuple(sorted(codes, key=lambda code: roles.get(code) == _ORIGIN_ONLY))


def _action_type(kept: list[Hit], policy: list[Hit]) -> str | None:
    if not kept:
        return None
    early = {h.sentence for h in kept if h.sentence <= LEAD}
    if any(p.sentence in early for p in policy):
        return "policy"
    weights: dict[str, float] = {}
    for hit in kept:
        bonus = 1.5 if hit.sentence <= LEAD else 1.0
        weights[hit.term.label] = (
            weights.get(hit.term.label, 0.0) + _STRENGTH[hit.term.strength] * bonus
        )
    return max(weights, key=lambda kind: (weights[kind], -ACTION_TYPES.index(kind)))


def _target_factor(kept: list[Hit], targets: list[Hit]) -> float:
    if not targets:
        return 0.3
    action_sentences = {h.sentence for h in kept}
    if any(t.sentence in action_sentences for t in targets):
        return 1.0
    if min(h.sentence for h in kept) <= LEAD and min(t.sentence for t in targets) <= LEAD:
        return 0.95
    return 0.85


def _homeward(kept: list[Hit], returns: list[Hit]) -> bool:
    """Whether a strong action shares a sentence with a destination in the persecuting state."""
    sentences = {h.sentence for h in kept if h.term.strength != "weak"}
    return any(r.sentence in sentences for r in returns)


def _link_factor(codes: list[str], roles: Mapping[str, str], strong: bool, homeward: bool) -> float:
    if len(codes) >= 2:
        return 1.0
    if len(codes) == 1:
        return 0.8 if strong and (homeward or roles.get(codes[0]) == "both") else 0.4
    return 0.3


def _reasons(
    kept: list[Hit], cancelled: list[tuple[Hit, Hit]], other: list[Hit]
) -> tuple[str, ...]:
    # A few of each kind, so a long article's actions do not crowd out its target and place.
    per_kind: dict[str, list[str]] = {"action": [f"action:{h.text}" for h in kept]}
    for hit in other:
        per_kind.setdefault(hit.term.concept, []).append(f"{hit.term.concept}:{hit.text}")
    per_kind["cancelled"] = [
        f"cancelled:{a.text}<-{b.term.label or b.term.concept}:{b.text}" for a, b in cancelled
    ]
    labels: list[str] = []
    for kind, cap in _REASON_CAPS:
        labels.extend(list(dict.fromkeys(per_kind.get(kind, ())))[:cap])
    return tuple(labels)


def decide(hits: list[Hit], roles: Mapping[str, str], issuance_window: int) -> Verdict:
    """The verdict for one entry's hits (see the module docstring for the formula)."""
    concepts = _by_concept(hits)
    masks = concepts.get("mask", [])
    places = _unmasked(concepts.get("place", []), masks)
    concepts["target"] = _unmasked(concepts.get("target", []), masks)
    codes = _countries(places)
    actions = _filter_actions(concepts, issuance_window)
    kept = actions.kept
    targets = concepts["target"] + concepts.get("watch", [])
    countries = _order_main_first(codes, roles)
    target_texts = {t.text for t in targets}
    shown_places = [p for p in places if p.text not in target_texts]
    returns = concepts.get("return", [])
    explained = (
        targets + shown_places + returns + concepts.get("policy", []) + concepts.get("crime", [])
    )
    reasons = _reasons(kept, actions.cancelled, explained)
    if not kept:
        return Verdict(False, 0.0, countries, None, reasons)
    strong = any(h.term.strength != "weak" for h in kept)
    score = (
        (1.0 if strong else 0.75)
        * _target_factor(kept, targets)
        * _link_factor(codes, roles, strong, _homeward(kept, returns))
        * (1.0 if min(h.sentence for h in kept) <= LEAD else 0.9)
    )
    action = _action_type(kept, concepts.get("policy", []))
    return Verdict(score >= THRESHOLD, round(score, 3), countries, action, reasons)
