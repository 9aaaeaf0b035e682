"""Which mailbox provider receives mail for a recipient: Gmail, Yahoo, Microsoft, Apple or other.

Consumer domains are known by name (gmail.com, hotmail.co.uk…). A custom domain (a company on Google Workspace or
Microsoft 365) is known by its most preferred MX host, read once through dns.py and kept in MailboxDomain, so every
worker and every later build reads the table, not DNS. Reserved domains (example.com, *.test…; RFC 2606/6761) are
never looked up. A lookup DNS could not answer is not stored (the next build tries again), and a build stops asking
after the first such failure or MX_LOOKUPS_PER_BUILD lookups: until then the domain counts as "other".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.utils import timezone

from emails.deliverability.dns import DnsReader, DnsUnavailable
from emails.deliverability.models import MailboxDomain, MailboxProvider

logger = logging.getLogger(__name__)
MX_LOOKUPS_PER_BUILD = 100

KNOWN_DOMAINS = {
    MailboxProvider.GMAIL: {"gmail.com", "googlemail.com"},
    # Yahoo also runs AOL's mailboxes (same inbound servers, same sender rules).
    MailboxProvider.YAHOO: {"yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es", "yahoo.ca",
                            "yahoo.com.au", "yahoo.com.br", "yahoo.in", "ymail.com", "rocketmail.com", "aol.com",
                            "aim.com"},
    MailboxProvider.MICROSOFT: {"outlook.com", "hotmail.com", "live.com", "msn.com", "hotmail.co.uk", "hotmail.fr",
                                "hotmail.de", "hotmail.it", "hotmail.es", "live.co.uk", "live.fr", "outlook.fr",
                                "outlook.de", "passport.com", "windowslive.com"},
    MailboxProvider.APPLE: {"icloud.com", "me.com", "mac.com"},
}
PROVIDER_OF_DOMAIN = {domain: provider for provider, domains in KNOWN_DOMAINS.items() for domain in domains}
# The MX host names each provider's inbound servers use, for custom domains hosted there.
MX_SUFFIXES = (
    ("google.com", MailboxProvider.GMAIL), ("googlemail.com", MailboxProvider.GMAIL),
    ("yahoodns.net", MailboxProvider.YAHOO),
    ("outlook.com", MailboxProvider.MICROSOFT), ("hotmail.com", MailboxProvider.MICROSOFT),
    ("icloud.com", MailboxProvider.APPLE),
)
RESERVED_SUFFIXES = (".test", ".example", ".invalid", ".localhost", ".local")
RESERVED_DOMAINS = {"example.com", "example.net", "example.org", "localhost"}


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].strip().lower().rstrip(".") if "@" in email else ""


def known_provider(domain: str) -> str | None:
    """The provider of a domain without DNS: known by name, or OTHER when it cannot have a provider's mailbox."""
    if domain in PROVIDER_OF_DOMAIN:
        return PROVIDER_OF_DOMAIN[domain]
    if not domain or "." not in domain or domain in RESERVED_DOMAINS or domain.endswith(RESERVED_SUFFIXES) \
            or any(domain.endswith(f".{reserved}") for reserved in RESERVED_DOMAINS):
        return MailboxProvider.OTHER
    return None


def provider_of_mx(mx_host: str) -> str:
    host = mx_host.lower().rstrip(".")
    for suffix, provider in MX_SUFFIXES:
        if host == suffix or host.endswith(f".{suffix}"):
            return provider
    return MailboxProvider.OTHER


def providers_for(domains: Iterable[str], *, resolve: bool, dns: DnsReader | None = None) -> dict[str, str]:
    """Provider of each domain. Custom domains come from MailboxDomain; with `resolve`, those not there yet are
    looked up (and stored), else they count as OTHER until a build looks them up. One query, plus the lookups."""
    result: dict[str, str] = {}
    custom = set()
    for domain in set(domains):
        provider = known_provider(domain)
        if provider is None:
            custom.add(domain)
        else:
            result[domain] = provider
    if custom:
        result.update(MailboxDomain.objects.filter(domain__in=custom).values_list("domain", "provider"))
    missing = sorted(custom - result.keys())
    if resolve and missing:
        result.update(_look_up(missing, dns or DnsReader()))
    return {domain: result.get(domain, MailboxProvider.OTHER) for domain in {*result, *custom}}


def _look_up(domains: list[str], dns: DnsReader) -> dict[str, str]:
    found: dict[str, str] = {}
    rows: list[MailboxDomain] = []
    for domain in domains[:MX_LOOKUPS_PER_BUILD]:
        try:
            hosts = dns.mx(domain)
        except DnsUnavailable as error:
            logger.info("MX lookups paused for this build after %s domains: %s", len(rows), error)
            break
        mx_host = hosts[0] if hosts else ""
        found[domain] = provider_of_mx(mx_host) if mx_host else MailboxProvider.OTHER
        rows.append(MailboxDomain(domain=domain, provider=found[domain], mx_host=mx_host[:253],
                                  resolved_at=timezone.now()))
    MailboxDomain.objects.bulk_create(rows, ignore_conflicts=True)  # another build may have stored one meanwhile
    return found
