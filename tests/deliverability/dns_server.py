"""A DNS server on loopback (dnslib) that answers from a zone the test gives it: never the internet.

It answers like a recursive resolver would for the names it holds: a CNAME is followed to its target when the
target is in the zone too (so a TXT lookup through a CNAME gets both), an unknown name is NXDOMAIN, a known name
without the asked type is an empty answer. Every query is recorded, so a test can tell what was asked.
"""

from __future__ import annotations

import socket
from typing import Any

from dnslib import QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    def __init__(self) -> None:
        self.records: list[RR] = []
        self.queries: list[tuple[str, str]] = []

    def load(self, zone: str) -> None:
        self.records = RR.fromZone(zone) if zone.strip() else []
        self.queries = []

    def _find(self, name: str, qtype: str) -> list[RR]:
        return [rr for rr in self.records
                if str(rr.rname).rstrip(".").lower() == name and QTYPE[rr.rtype] == qtype]

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        reply = request.reply()
        name, qtype = str(request.q.qname).rstrip(".").lower(), QTYPE[request.q.qtype]
        self.queries.append((name, qtype))
        for _ in range(8):  # a CNAME chain, as far as the zone goes
            answers = self._find(name, qtype)
            if answers or qtype == "CNAME":
                break
            aliases = self._find(name, "CNAME")
            if not aliases:
                break
            reply.add_answer(*aliases)
            name = str(aliases[0].rdata.label).rstrip(".").lower()
        for rr in answers:
            reply.add_answer(rr)
        if not reply.rr and not any(str(rr.rname).rstrip(".").lower() == name for rr in self.records):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class LocalDns:
    """`with LocalDns() as dns: dns.zone(text)`; `dns.address` is what DNS_NAMESERVER takes."""

    def __init__(self) -> None:
        self.resolver = ZoneResolver()
        self.server = DNSServer(self.resolver, address="127.0.0.1", port=0,
                                logger=DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data",
                                                 prefix=False))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server.server_address[1]}"

    def zone(self, text: str) -> None:
        self.resolver.load(text)

    def __enter__(self) -> LocalDns:
        self.server.start_thread()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        self.server.server.server_close()


def unanswered_address() -> str:
    """A loopback UDP port with nobody behind it: lookups there time out, as with DNS down."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"
