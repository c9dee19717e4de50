"""Identity of entries and stories: canonical URLs, entry keys, content fingerprints.

Pure functions, no I/O.

- `canonical_url(url)`: the form two links to the same article share: https, lower-case host
  without `www.`/`m.`/`amp.`, no fragment, no tracking parameters, the rest of the query sorted,
  no trailing slash, `/amp` suffixes dropped.
- `entry_keys(entries)`: each entry's identity inside one feed. The GUID when it is usable;
  else the canonical link, unless two items of the fetch share it; else a hash of the title and
  text. A GUID that is empty, equals the feed's own address, or is shared by two items of one
  fetch is not usable (publishers that give every item the same GUID).
- `content_hash(entry)`: changes when the title or text is edited, so an edit updates the stored
  entry instead of making a new story. `BLANK_CONTENT` is that of an entry with no text at all
  (its title only markup, its description empty: a CMS glitch), which is no edit of anything.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.model import Entry

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "at_", "itm_", "ga_")
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "yclid", "ysclid", "msclkid", "igshid",
        "twclid", "ttclid", "li_fat_id", "mkt_tok", "_ga", "_gl", "_hsenc", "_hsmi", "ref",
        "ref_src", "ref_url", "cmpid", "ncid", "sr_share", "spm", "rss", "share", "amp",
    }
)  # fmt: skip
_HOST_PREFIXES = ("www.", "m.", "amp.", "mobile.")
_AMP_SUFFIXES = ("/amp", "/amp.html", ".amp.html", ".amp")


def canonical_url(url: str) -> str:
    """The comparable form of an http(s) URL (see the module docstring)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    for prefix in _HOST_PREFIXES:
        if host.startswith(prefix):
            host = host[len(prefix) :]
            break
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"  # before the AMP endings: ".../amp/" is one of them
    for suffix in _AMP_SUFFIXES:
        if path.endswith(suffix) and len(path) > len(suffix):
            path = path[: -len(suffix)] + (".html" if suffix == ".amp.html" else "")
            break
    query = ""
    if parts.query:  # most article links have none
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        query = urlencode(sorted((k, v) for k, v in pairs if not _is_tracking(k.lower())))
    return urlunsplit(("https", host, path, query, ""))


def _is_tracking(param: str) -> bool:
    return param in _TRACKING_PARAMS or param.startswith(_TRACKING_PREFIXES)


def entry_keys(entries: Sequence[Entry], feed_url: str) -> list[str]:
    """The key of each entry of one fetch; a GUID shared by two entries is not trusted, and
    neither is a link shared by two entries keyed by it (a feed without GUIDs that links
    every item to its front page or a live page): those are keyed by their text. Else the
    second item was taken for an edit of the first, and the two cases took turns as the
    story's text at every poll."""
    counts = Counter((e.guid or "").strip() for e in entries)
    keys = [
        entry_key(e, feed_url, guid_usable=counts[(e.guid or "").strip()] == 1) for e in entries
    ]
    shared = {k for k, n in Counter(keys).items() if n > 1 and k.startswith("url:")}
    if not shared:
        return keys
    return [
        f"hash:{content_hash(e)}" if k in shared else k for e, k in zip(entries, keys, strict=True)
    ]


def entry_key(entry: Entry, feed_url: str, *, guid_usable: bool = True) -> str:
    """Identity inside one feed: guid, else canonical link, else content hash."""
    guid = (entry.guid or "").strip()
    if guid_usable and guid and guid != feed_url and len(guid) <= 1000:
        return f"guid:{guid}"
    if entry.link:
        return f"url:{canonical_url(entry.link)}"
    return f"hash:{content_hash(entry)}"


def content_hash(entry: Entry) -> str:
    """A fingerprint of what the entry says, insensitive to case and whitespace."""
    text = f"{entry.title}\n{entry.summary}"
    norm = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return hashlib.blake2b(norm.encode("utf-8"), digest_size=16).hexdigest()


BLANK_CONTENT: Final = content_hash(Entry("", "", None, None, None))
