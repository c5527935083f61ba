"""Who the client is behind a reverse proxy: ``X-Forwarded-For`` and ``-Proto``.

Behind nginx every connection comes from the proxy, so the address that the
login throttle, the connections-per-address bound and the logs use must be
read from the headers the proxy adds.  Those headers are the client's to
forge, so they are believed only from the addresses named in
``--trusted-proxies``, and only as far as the trusted hops wrote them: the
client is the rightmost address of ``X-Forwarded-For`` that is not itself a
trusted proxy (everything left of it came from the client).

Pure: the server (``handlers.security.limits``) applies it to each request.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from config import Network, parse_networks


@dataclass(frozen=True)
class TrustedProxies:
    """The proxies in front of this server, whose forwarding headers are believed."""

    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> TrustedProxies:
        return cls(parse_networks(text))

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: str) -> bool:
        if not self.networks:  # the default: nothing to parse on every request
            return False
        try:
            ip = ipaddress.ip_address(address.strip().split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: list[str],
               forwarded_proto: list[str]) -> tuple[str, bool]:
        """The client's address and whether it came over HTTPS, for a request
        from ``peer`` carrying these ``X-Forwarded-For`` / ``X-Forwarded-Proto``
        header values (each possibly sent several times, comma-separated).

        From a peer that is not trusted the headers mean nothing: the peer is
        the client.  A trusted proxy that names no client (or a malformed
        one) is the client itself."""
        if not self.trusts(peer):
            return peer, False
        hops = [hop.strip() for value in forwarded_for for hop in value.split(",")]
        client = peer
        for hop in reversed([hop for hop in hops if hop]):
            if not _is_address(hop):
                break
            client = hop
            if not self.trusts(hop):
                break
        protos = [p.strip().lower() for value in forwarded_proto for p in value.split(",")]
        return client, bool(protos) and protos[-1] == "https"


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
