"""The labelled dev set, scored through `run_classify` as `python -m bot classify` scores it."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path

from bot.relevance import Classifier
from bot.relevance.cli import run_classify

DEV_SET = Path(__file__).resolve().parent / "data" / "relevance_dev.jsonl"


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


def test_dev_set_precision_and_recall() -> None:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines()]
    out = io.StringIO()
    assert (
        run_classify(
            io.StringIO(DEV_SET.read_text(encoding="utf-8")), out, Classifier.from_extension()
        )
        == 0
    )
    verdicts = [json.loads(line) for line in out.getvalue().splitlines()]
    pairs = [
        (row["relevant"], verdict["relevant"]) for row, verdict in zip(rows, verdicts, strict=True)
    ]
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
