"""Merging on the labelled dev set, through the real classifier, fingerprints and storage:
pairwise precision and recall (targets: >= 0.95 and >= 0.90)."""

from __future__ import annotations

from benchmarks.merge_eval import load_dev_set, score_merging
from bot.storage import Storage


def test_dev_set_shape() -> None:
    rows = load_dev_set()
    assert len({r["id"] for r in rows}) == len(rows) >= 30
    assert {"ru", "en", "uk", "kk", "ky"} <= {r["lang"] for r in rows}
    groups = {r["group"] for r in rows}
    assert len(groups) >= 12
    assert sum(1 for g in groups if len({r["lang"] for r in rows if r["group"] == g}) > 1) >= 10


async def test_pairwise_precision_and_recall(storage: Storage) -> None:
    score = await score_merging(storage, load_dev_set())
    print(
        f"\nmerge dev set: {score.entries} entries, {score.groups} groups -> {score.stories} "
        f"stories; tp={score.tp} fp={score.fp} fn={score.fn} precision={score.precision:.3f} "
        f"recall={score.recall:.3f}"
    )
    assert score.unstored == ()
    assert score.precision >= 0.95, score.false_merges
    assert score.recall >= 0.90, score.missed
