"""Full article text where the feed is thin (title-only and news-search feeds).

An entry is *thin* when, apart from its title, its text is shorter than `THIN_CHARS`: too short
to judge or to summarise. For a thin entry that is new to its feed, the refresh fetches the
article page once (the same `Fetcher`, so the same size, time and request limits as feeds, and
`untrusted`: no hop may reach a loopback, private or link-local address), within a per-cycle
budget, and extracts the main text with trafilatura. The text replaces the
entry's summary, so it feeds relevance, story merging and the alert's lead alike. An entry is
fetched at most once: after this refresh its key is stored, so it is never new again. A
Telegram channel's post is never thin: it is all the channel says, and its page adds nothing.
Nor is an item whose link is a redirect that needs a browser (`REDIRECT_ONLY_HOSTS`: Google
News's `news.google.com/rss/articles/...` reaches the article through JavaScript, or first
through Google's consent page in the EU): fetched, its page holds no article, and a consent
page's text, taken for every such item's, would make their fingerprints alike (false merges).

`extract_text` is pure (bytes in, text out); trafilatura is imported on first use only, so
processes that never meet a thin entry do not pay for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from bot.decoding import decode_document
from bot.html_text import bound, plain_text
from bot.model import Entry
from bot.parse import SUMMARY_MAX

THIN_CHARS = 200
MIN_EXTRACTED = 200  # less than this is a cookie banner or a paywall stub, not an article
REDIRECT_ONLY_HOSTS = frozenset({"news.google.com"})


def thin(entries: Sequence[Entry], keys: Sequence[str], unseen: set[str]) -> list[int]:
    """The indexes of the thin entries new to their feed (`keys[i]` not stored yet)."""
    return [i for i, entry in enumerate(entries) if keys[i] in unseen and is_thin(entry)]


def is_thin(entry: Entry) -> bool:
    if not entry.link:
        return False
    text = entry.summary
    if entry.title and text.casefold().startswith(entry.title.casefold()):
        text = text[len(entry.title) :]
    return len(text.strip()) < THIN_CHARS and not _redirect_only(entry.link)


def _redirect_only(link: str) -> bool:
    # Splitting every new entry's link cost a cold cycle more than the rest of `is_thin`: a
    # link naming none of the hosts anywhere is passed at once.
    if not any(host in link.lower() for host in REDIRECT_ONLY_HOSTS):
        return False
    return urlsplit(link).hostname in REDIRECT_ONLY_HOSTS


def extract_text(body: bytes, headers: Mapping[str, str], url: str) -> str | None:
    """The main text of an article page, bounded; None when there is no article to be found."""
    import trafilatura  # noqa: PLC0415 -- 0.3 s and 40 MB, paid only when a thin entry appears

    lower = {k.lower(): v for k, v in headers.items()}
    html = decode_document(body, lower.get("content-type", ""))
    text = trafilatura.extract(
        html,
        url=url,
        include_comments=False,
        include_tables=False,
        include_links=False,
        include_images=False,
        favor_precision=True,
        # Its deduplication remembers paragraphs across calls, process-wide: from the fourth
        # page that shares them (a wire story re-posted, the same page refetched) the text
        # came back empty, and a long-running bot lost ever more of its articles.
        deduplicate=False,
    )
    if not text:
        return None
    text = plain_text(text)  # a page's text is as untrusted as a feed's
    return bound(text, SUMMARY_MAX) if len(text) >= MIN_EXTRACTED else None


class Budget:
    """How many article pages one refresh cycle may still fetch."""

    def __init__(self, pages: int) -> None:
        self.left = pages

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True
