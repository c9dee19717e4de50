"""The labelled dev set (and a reviewer's held-out set), scored through `run_classify` as
`python -m bot classify` scores them."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

from bot.relevance import Classifier
from bot.relevance.cli import run_classify

DEV_SET = Path(__file__).resolve().parent / "data" / "relevance_dev.jsonl"
HELD_OUT = Path(__file__).resolve().parent / "data" / "relevance_heldout.jsonl"


def _confusion(pairs: list[tuple[bool, bool]]) -> Counter[str]:
    names = {(True, True): "tp", (False, True): "fp", (True, False): "fn", (False, False): "tn"}
    return Counter(names[(expected, got)] for expected, got in pairs)


def _line(label: str, c: Counter[str]) -> str:
    precision = c["tp"] / max(1, c["tp"] + c["fp"])
    recall = c["tp"] / max(1, c["tp"] + c["fn"])
    return (
        f"{label:8} n={sum(c.values()):3} tp={c['tp']:3} fp={c['fp']:2} fn={c['fn']:2} "
        f"tn={c['tn']:3} precision={precision:.3f} recall={recall:.3f}"
    )


def test_dev_set_shape() -> None:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 200
    assert len({row["id"] for row in rows}) == len(rows)
    relevant = sum(row["relevant"] for row in rows)
    assert 0.4 <= relevant / len(rows) <= 0.6
    for row in rows:
        assert row["reason"]
        assert row["source"].startswith(("real: ", "modelled"))
    assert {"ru", "en", "uk", "kk", "ky"} <= {row["lang"] for row in rows}


Classified = tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[bool, bool]]]


def _classified(path: Path) -> Classified:
    """The file's rows, the `classify` command's verdicts on them, and (label, verdict) pairs."""
    text = path.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines()]
    out = io.StringIO()
    assert run_classify(io.StringIO(text), out, Classifier.from_extension()) == 0
    verdicts = [json.loads(line) for line in out.getvalue().splitlines()]
    pairs = [
        (row["relevant"], verdict["relevant"]) for row, verdict in zip(rows, verdicts, strict=True)
    ]
    return rows, verdicts, pairs


def test_dev_set_precision_and_recall() -> None:
    rows, verdicts, pairs = _classified(DEV_SET)
    overall = _confusion(pairs)
    print()
    print(_line("overall", overall))
    for lang in sorted({row["lang"] for row in rows}):
        print(
            _line(
                lang,
                _confusion([p for row, p in zip(rows, pairs, strict=True) if row["lang"] == lang]),
            )
        )
    for row, verdict in zip(rows, verdicts, strict=True):
        if row["relevant"] != verdict["relevant"]:
            print("MISS", row["id"], row["title"][:70], verdict["score"], verdict["reasons"][:4])
    precision = overall["tp"] / (overall["tp"] + overall["fp"])
    recall = overall["tp"] / (overall["tp"] + overall["fn"])
    assert precision >= 0.95
    assert recall >= 0.95


def test_dev_set_countries_of_relevant_items() -> None:
    classifier = Classifier.from_extension()
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    checked = hits = 0
    for row in rows:
        if row["relevant"] and "countries" in row:
            verdict = classifier.classify(row["title"], row["summary"], row["lang"])
            checked += 1
            hits += set(row["countries"]) <= set(verdict.countries)
    print(f"\ncountries agree on {hits}/{checked} relevant items")
    assert hits / checked >= 0.9


def test_held_out_precision_and_recall() -> None:
    """A reviewer's 160 news items written outside the dev set (title, summary, lang, relevant,
    family). Half of it was used for tuning: the lexicon fixes of the review looked at the
    errors on the items at even line numbers (1-based) only; the odd ones were only measured.
    Both halves are printed. Reached when added: precision 0.96, recall 0.98 overall (tuning
    half 0.98 / 0.98, check half 0.94 / 0.98); the floor leaves a margin of 0.03."""
    rows, verdicts, pairs = _classified(HELD_OUT)
    overall = _confusion(pairs)
    print()
    print(_line("overall", overall))
    print(_line("tuning", _confusion(pairs[1::2])))  # line numbers 2, 4, ...
    print(_line("check", _confusion(pairs[0::2])))  # line numbers 1, 3, ...
    for row, verdict in zip(rows, verdicts, strict=True):
        if row["relevant"] != verdict["relevant"]:
            print(
                "MISS", row["family"], row["title"][:70], verdict["score"], verdict["reasons"][:4]
            )
    precision = overall["tp"] / (overall["tp"] + overall["fp"])
    recall = overall["tp"] / (overall["tp"] + overall["fn"])
    assert precision >= 0.93
    assert recall >= 0.95
