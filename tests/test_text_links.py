"""Which feed links become text links: Telegram's rule (tdlib's parse_url and check_link),
read from tdlib's own test cases (test/link.cpp) and what feeds have been seen to write."""

from __future__ import annotations

import pytest
from aiogram.utils.formatting import Text

from bot.text_links import linked, telegram_accepts


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        # tdlib test/link.cpp, check_link
        ("httP://google.com?1#tes", True),
        ("httPs://google.com/?1#tes", True),
        ("http://google.com:0", False),
        ("http://google.com:0000000001", True),
        ("http://google.com:-1", False),
        ("sftp://google.com", False),
        ("http:google.com", False),
        ("http://[2001:db8:0:0:0:ff00:42:8329]", True),
        ("http://localhost", False),
        ("http://..", True),
        ("https://.", False),
        # a host without a dot: an intranet or a misconfigured CMS
        ("http://localhost/news/1", False),
        ("https://intranet/x", False),
        ("http://localhost.:8080/a", True),
        ("http://127.0.0.1/a", True),
        ("http://2130706433/a", False),  # an IPv4 address as one number has no dot
        # the port: 1..65535, digits only
        ("http://e.org:0/a", False),
        ("http://e.org:/a", False),
        ("http://e.org:65535/a", True),
        ("http://e.org:65536/a", False),
        ("http://e.org:8o/a", False),
        ("http://e.org:٣/a", False),  # a digit, but not an ASCII one
        ("http://[::1]:8080/a", True),
        ("http://[::1]:0/a", False),
        # the host's characters
        ("https://e{x}.org/a", False),
        ("https://e x.org/a", False),
        ("https://e\\x.org/a", False),
        ("https://E-X_1.ORG/a", True),
        ("https://e%2Ex.org/a", True),
        ("https://e%2x.org/a", False),
        ("https://президент.рф/новости", True),
        ("https://user@e.org/a", True),
        ("https://[::1/a", False),
        ("https://[not-an-address]/a", False),
        ("https://[fe80::1%25eth0]/a", False),  # a zone: refused rather than guessed
        ("https:///a", False),
        ("", False),
    ],
)
def test_telegrams_rule(url: str, accepted: bool) -> None:
    assert telegram_accepts(url) is accepted


def test_a_link_telegram_refuses_is_its_text_alone() -> None:
    assert linked("Bazhukov", "http://localhost/news/1") == "Bazhukov"
    assert linked("Bazhukov", None) == "Bazhukov"
    text, entities = Text(linked("Bazhukov", "https://e.org/1")).render()
    assert text == "Bazhukov"
    assert [(e.type, e.url) for e in entities] == [("text_link", "https://e.org/1")]
