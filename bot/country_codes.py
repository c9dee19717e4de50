"""The countries users may filter by (`country:kz`) and stories are tagged with: ISO 3166
alpha-2 codes, from CLDR via Babel. CLDR's unions, regions and pseudo-locales are left out: no
story is tagged EU or UN, so `country:eu` would match nothing, silently."""

from __future__ import annotations

from typing import Final

from babel import Locale

NOT_COUNTRIES: Final = frozenset({"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"})


def known_country_codes() -> frozenset[str]:
    codes = (str(c) for c in Locale.parse("en").territories)
    return frozenset(c for c in codes if len(c) == 2 and c.isalpha()) - NOT_COUNTRIES
