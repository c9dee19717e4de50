"""The characters no feed address may contain, one rule for every way an address comes in:
`feeds.yaml` (bot.config), a fetch and each of its redirect hops (bot.fetch), an OPML import
(bot.sources.opml).

Raw spaces, control characters (C0, DEL, C1), lone surrogates and noncharacters have no
place in a URL. One that came in a Location header would otherwise be stored as the feed's
address and printed to terminals (`feeds check`, `status`) as an escape sequence. Kept apart
so that the configuration can use it without importing the fetcher's HTTP client.
"""

from __future__ import annotations

import re

# Lone surrogates and noncharacters too: no text (YAML's "\ud800" makes one), and no XML.
NOT_IN_URL = re.compile("[\x00-\x20\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
