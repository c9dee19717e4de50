"""Entry identity and canonical URLs (table-driven)."""

from __future__ import annotations

import pytest

from bot.stories import canonical_url, content_hash, entry_keys
from tests.conftest import make_entry


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://www.example.org/a", "http://example.org/a"),
        ("https://m.example.org/a/", "https://example.org/a"),
        ("https://example.org/a?utm_source=tg&utm_medium=x", "https://example.org/a"),
        ("https://example.org/a?fbclid=1&gclid=2&yclid=3", "https://example.org/a"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://EXAMPLE.org/a", "https://example.org/a"),
        ("https://example.org/news/1/amp", "https://example.org/news/1"),
        ("https://example.org/news/1/amp/", "https://example.org/news/1/"),
        ("https://example.org/news/1.amp.html", "https://example.org/news/1.html"),
        ("https://amp.example.org/a", "https://example.org/a"),
        ("https://example.org:443/a", "https://example.org/a"),
    ],
)
def test_same_article_same_canonical_url(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.org/a", "https://example.org/b"),
        ("https://example.org/a?id=1", "https://example.org/a?id=2"),
        ("https://example.org/a", "https://example.com/a"),
        ("https://example.org/A", "https://example.org/a"),  # paths are case-sensitive
        ("https://example.org:8080/a", "https://example.org/a"),
    ],
)
def test_different_articles_stay_different(a: str, b: str) -> None:
    assert canonical_url(a) != canonical_url(b)


def test_entry_key_cascade() -> None:
    feed = "https://o.example/rss"
    entries = [
        make_entry(guid="urn:1"),
        make_entry(guid=None, link="https://www.o.example/2?utm_source=x"),
        make_entry(guid=None, link=None),
        make_entry(guid=feed, link="https://o.example/4"),  # GUID = the feed's own address
    ]
    keys = entry_keys(entries, feed)
    assert keys[0] == "guid:urn:1"
    assert keys[1] == "url:https://o.example/2"
    assert keys[2].startswith("hash:")
    assert keys[3] == "url:https://o.example/4"


def test_a_guid_shared_by_every_item_is_not_trusted() -> None:
    entries = [
        make_entry("One", guid="same", link="https://o.example/1"),
        make_entry("Two", guid="same", link="https://o.example/2"),
    ]
    assert entry_keys(entries, "https://o.example/rss") == [
        "url:https://o.example/1",
        "url:https://o.example/2",
    ]


def test_a_link_shared_by_items_keyed_by_it_is_not_trusted_either() -> None:
    # No GUIDs, every item linked to the live page: each is its text, not the page.
    live = "https://o.example/live"
    entries = [
        make_entry("One", guid=None, link=live),
        make_entry("Two", guid="same", link=live + "?utm_source=rss"),
        make_entry("Three", guid="same", link="https://o.example/3"),
        make_entry("Four", guid="urn:4", link=live),  # its own GUID: keyed by it
    ]
    keys = entry_keys(entries, "https://o.example/rss")
    assert keys[:2] == [f"hash:{content_hash(e)}" for e in entries[:2]]
    assert keys[2:] == ["url:https://o.example/3", "guid:urn:4"]


def test_content_hash_ignores_case_and_spacing_but_not_words() -> None:
    assert content_hash(make_entry("A  b")) == content_hash(make_entry("a b"))
    assert content_hash(make_entry("A b")) != content_hash(make_entry("A c"))
