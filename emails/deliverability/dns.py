"""The one place that asks DNS (dnspython), so tests can point every lookup at a local server.

`DNS_NAMESERVER` (host:port) replaces the system resolver; `DNS_TIMEOUT_SECONDS` bounds each lookup. A `DnsReader`
serves one run (a sender check, a rollup build): after the first lookup that could not be answered (a timeout, no
server), it tries no more, so a run with DNS down costs one timeout, not one per record.

"Absent" and "unreachable" are kept apart: NXDOMAIN or an empty answer is an answer (the record is missing); a
timeout is not (we do not know).
"""

from __future__ import annotations

import dns.exception
import dns.resolver
from django.conf import settings


class DnsUnavailable(Exception):
    """DNS could not be asked, or did not answer in time: nothing is known about the record."""


def make_resolver() -> dns.resolver.Resolver:
    nameserver = settings.DNS_NAMESERVER
    try:
        resolver = dns.resolver.Resolver(configure=not nameserver)
    except dns.resolver.NoResolverConfiguration as error:
        raise DnsUnavailable(f"no DNS server configured on this machine ({error})") from error
    if nameserver:
        host, port = _host_port(nameserver)
        resolver.nameservers = [host]
        resolver.port = port
    resolver.lifetime = resolver.timeout = settings.DNS_TIMEOUT_SECONDS
    return resolver


def _host_port(value: str) -> tuple[str, int]:
    """"127.0.0.1:5353", "[::1]:5353" or a bare address (port 53)."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, int(rest.lstrip(":") or 53)
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, int(port)
    return value, 53


class DnsReader:
    """TXT, CNAME and MX lookups for one run; raises DnsUnavailable once DNS has failed to answer."""

    def __init__(self) -> None:
        self._resolver: dns.resolver.Resolver | None = None
        self.down = ""  # why DNS could not be read, once it could not

    def _answer(self, name: str, rdtype: str) -> list[dns.rdata.Rdata]:
        if self.down:
            raise DnsUnavailable(self.down)
        try:
            if self._resolver is None:
                self._resolver = make_resolver()
            return list(self._resolver.resolve(name, rdtype, search=False))
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except DnsUnavailable as error:
            self.down = str(error)
        except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
            self.down = f"DNS did not answer ({type(error).__name__}: {error})"
        except (dns.exception.DNSException, OSError) as error:
            self.down = f"DNS lookup failed ({type(error).__name__}: {error})"
        raise DnsUnavailable(self.down)

    def txt(self, name: str) -> list[str]:
        return [b"".join(r.strings).decode("utf-8", "replace") for r in self._answer(name, "TXT")]  # type: ignore[attr-defined]

    def cname(self, name: str) -> list[str]:
        return [r.target.to_text(omit_final_dot=True).lower() for r in self._answer(name, "CNAME")]  # type: ignore[attr-defined]

    def mx(self, name: str) -> list[str]:
        """Mail exchangers, most preferred first."""
        records = sorted(self._answer(name, "MX"), key=lambda r: r.preference)  # type: ignore[attr-defined]
        return [r.exchange.to_text(omit_final_dot=True).lower() for r in records]  # type: ignore[attr-defined]
