"""Who the client is behind a trusted proxy (``handlers.security.proxy``)."""

from __future__ import annotations

import pytest

from handlers.security.proxy import TrustedProxies, parse_networks

PROXIES = TrustedProxies.parse("10.0.0.0/8, 192.168.1.1, ::1")


def test_an_untrusted_peer_is_the_client_whatever_it_says() -> None:
    assert PROXIES.client("203.0.113.9", ["1.2.3.4"], ["https"]) == ("203.0.113.9", False)
    assert TrustedProxies().client("10.0.0.1", ["1.2.3.4"], ["https"]) == ("10.0.0.1", False)


def test_the_client_is_the_rightmost_address_not_a_trusted_proxy() -> None:
    # a forged first hop, the real client, then two trusted proxies
    assert PROXIES.client("10.0.0.2", ["6.6.6.6, 198.51.100.4", "192.168.1.1"], []) == \
        ("198.51.100.4", False)
    assert PROXIES.client("::1", ["2001:db8::7"], ["http, https"]) == ("2001:db8::7", True)
    assert PROXIES.client("::ffff:10.1.2.3", ["198.51.100.5"], []) == ("198.51.100.5", False)


def test_a_proxy_that_names_nobody_or_nonsense_is_the_client() -> None:
    assert PROXIES.client("10.0.0.2", [], ["https"]) == ("10.0.0.2", True)
    assert PROXIES.client("10.0.0.2", ["unknown"], []) == ("10.0.0.2", False)
    assert PROXIES.client("10.0.0.2", ["6.6.6.6, nonsense"], []) == ("10.0.0.2", False)
    # only trusted hops: the leftmost of them
    assert PROXIES.client("10.0.0.2", ["10.0.0.3, 192.168.1.1"], []) == ("10.0.0.3", False)


def test_a_bad_entry_is_refused_by_name() -> None:
    assert parse_networks(" , 127.0.0.1 ,") == parse_networks("127.0.0.1/32")
    with pytest.raises(ValueError, match="'nginx'"):
        parse_networks("127.0.0.1, nginx")
