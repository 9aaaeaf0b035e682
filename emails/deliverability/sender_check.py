"""Is each From domain's DNS ready for the ESP? One line per record: pass, warn, fail or could not check.

Since 2024 Gmail and Yahoo, and since May 2025 Outlook.com, refuse bulk mail from senders without SPF, DKIM and
DMARC. The check reads, for each domain of DEFAULT_FROM_EMAIL and TRANSACTIONAL_FROM_EMAIL:

- SPF: one `v=spf1` TXT record at the domain that includes the ESP (directly or through nested includes);
- DKIM: the ESP's key at `<ESP_DKIM_SELECTOR>._domainkey.<domain>` (a TXT with a non-empty `p=`, through any CNAME);
- DMARC: a `v=DMARC1` record at `_dmarc.<domain>` (or its parent domain) with a policy. `p=none` is enough for the
  providers' rules but protects nothing, so it is a warning, not a pass;
- DMARC alignment: DMARC passes when DKIM or SPF aligns with the From domain. DKIM signs as the From domain once its
  key is there; SPF aligns through the Return-Path host, a subdomain, which strict SPF alignment (`aspf=s`) refuses;
- Return-Path: the ESP's bounce host under the domain points at the ESP (Postmark: `pm-bounces` CNAME
  `pm.mtasv.net`), so bounces reach the ESP and SPF is checked on our own domain.

Every line that is not a pass says what record to add or change. When DNS cannot be read, each line says so.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import partial

from django.conf import settings

from emails.deliverability.dns import DnsReader, DnsUnavailable
from emails.deliverability.esps import EspDns, configured_esp, return_path_host

SPF_LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4: more DNS-querying terms than this is a permerror
DMARC_POLICIES = ("none", "quarantine", "reject")


class Outcome(enum.StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    UNCHECKED = "could not check"


@dataclass(frozen=True)
class Line:
    domain: str
    record: str  # SPF, DKIM, DMARC, DMARC alignment, Return-Path
    host: str  # the DNS name read
    outcome: Outcome
    detail: str  # what was found, or why it is not right
    fix: str = ""  # the record to add or change, as it would be typed into the DNS provider's form

    @property
    def ok(self) -> bool:
        return self.outcome in (Outcome.PASS, Outcome.WARN)


@dataclass
class DomainReport:
    domain: str
    used_by: list[str]  # "marketing From", "transactional From"
    lines: list[Line] = field(default_factory=list)


@dataclass
class SenderReport:
    esp_key: str
    esp: EspDns | None
    domains: list[DomainReport]

    @property
    def lines(self) -> list[Line]:
        return [line for domain in self.domains for line in domain.lines]

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)

    def count(self, outcome: Outcome) -> int:
        return sum(line.outcome == outcome for line in self.lines)


def from_domains() -> dict[str, list[str]]:
    """Each From domain and which mail uses it, in settings order."""
    domains: dict[str, list[str]] = {}
    for use, address in (("marketing From", settings.DEFAULT_FROM_EMAIL),
                         ("transactional From", settings.TRANSACTIONAL_FROM_EMAIL)):
        domain = parseaddr(address)[1].rpartition("@")[2].strip().lower().rstrip(".")
        if domain:
            domains.setdefault(domain, []).append(use)
    return domains


def sender_report(*, dns: DnsReader | None = None) -> SenderReport:
    dns = dns or DnsReader()
    esp_key, esp = configured_esp()
    domains = [_domain_report(dns, domain, used_by, esp) for domain, used_by in from_domains().items()]
    return SenderReport(esp_key=esp_key, esp=esp, domains=domains)


def _domain_report(dns: DnsReader, domain: str, used_by: list[str], esp: EspDns | None) -> DomainReport:
    tags: dict[str, str] = {}  # the DMARC record's, filled by _dmarc for the alignment line
    spf = _guarded(domain, "SPF", domain, partial(_spf, dns, domain, esp))
    dkim = _guarded(domain, "DKIM", _dkim_host(domain), partial(_dkim, dns, domain, esp))
    dmarc = _guarded(domain, "DMARC", f"_dmarc.{domain}", partial(_dmarc, dns, domain, tags))
    return_path = _guarded(domain, "Return-Path", _return_path_name(domain, esp),
                           partial(_return_path, dns, domain, esp))
    return DomainReport(domain=domain, used_by=used_by,
                        lines=[spf, dkim, dmarc, _alignment(domain, esp, dkim, return_path, tags), return_path])


def _guarded(domain: str, record: str, host: str, check: Callable[[], Line]) -> Line:
    try:
        return check()
    except DnsUnavailable as error:
        return Line(domain, record, host, Outcome.UNCHECKED, f"could not read {host or 'DNS'}: {error}")


def _no_esp(domain: str, record: str) -> Line:
    key, _ = configured_esp()
    why = f"unknown ESP {key!r}" if key else "no ESP configured (EMAIL_BACKEND is not an anymail ESP)"
    return Line(domain, record, "", Outcome.UNCHECKED,
                f"{why}: set SENDER_CHECK_ESP to one of postmark, amazon_ses, sendgrid, mailgun")


# SPF ---------------------------------------------------------------------------------------------------------------

def _spf_records(texts: list[str]) -> list[str]:
    return [t for t in texts if t.strip().lower().split(" ", 1)[0] == "v=spf1"]


def _spf(dns: DnsReader, domain: str, esp: EspDns | None) -> Line:
    if esp is None:
        return _no_esp(domain, "SPF")
    wanted = f"include:{esp.spf_include}"
    records = _spf_records(dns.txt(domain))
    if not records:
        return Line(domain, "SPF", domain, Outcome.FAIL, "no SPF record",
                    f'TXT {domain} "v=spf1 {wanted} ~all"')
    if len(records) > 1:
        return Line(domain, "SPF", domain, Outcome.FAIL,
                    f"{len(records)} SPF records (receivers treat that as an error): " + " | ".join(records),
                    f'one TXT {domain} "v=spf1 {wanted} ~all" with the other records\' terms merged into it')
    record = records[0]
    if _spf_includes(dns, record, esp.spf_include.lower(), budget=[SPF_LOOKUP_LIMIT]):
        return Line(domain, "SPF", domain, Outcome.PASS, record)
    head, _, rest = record.partition(" ")
    return Line(domain, "SPF", domain, Outcome.FAIL, f"does not include {esp.name} ({esp.spf_include}): {record}",
                f'TXT {domain} "{" ".join(part for part in (head, wanted, rest) if part)}"')


def _spf_includes(dns: DnsReader, record: str, include: str, *, budget: list[int]) -> bool:
    """True when the record authorises `include`, following include: and redirect= within SPF's lookup limit."""
    for term in record.split()[1:]:
        mechanism = term.lstrip("+-~?").lower()
        for prefix in ("include:", "redirect="):
            if not mechanism.startswith(prefix):
                continue
            target = mechanism.removeprefix(prefix)
            if target == include:
                return True
            if budget[0] <= 0:
                return False
            budget[0] -= 1
            nested = _spf_records(dns.txt(target))
            if nested and _spf_includes(dns, nested[0], include, budget=budget):
                return True
    return False


# DKIM --------------------------------------------------------------------------------------------------------------

def _dkim_host(domain: str) -> str:
    selector = settings.ESP_DKIM_SELECTOR.strip()
    return f"{selector}._domainkey.{domain}" if selector else f"<selector>._domainkey.{domain}"


def _tags(record: str) -> dict[str, str]:
    """`k=v; k=v` tags of a DKIM or DMARC record, names lower-cased."""
    tags = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags[name.strip().lower()] = re.sub(r"\s+", "", value)
    return tags


def _dkim(dns: DnsReader, domain: str, esp: EspDns | None) -> Line:
    if esp is None:
        return _no_esp(domain, "DKIM")
    host = _dkim_host(domain)
    if not settings.ESP_DKIM_SELECTOR.strip():
        return Line(domain, "DKIM", host, Outcome.UNCHECKED,
                    f"ESP_DKIM_SELECTOR is not set: copy the selector {esp.name} shows for this domain "
                    "(the name before ._domainkey)")
    fix = f'{esp.dkim_type} {host} "{esp.dkim_value}"'
    keys = [record for record in dns.txt(host) if "p" in _tags(record)]
    if not keys:
        return Line(domain, "DKIM", host, Outcome.FAIL, f"no DKIM key at {host}", fix)
    if not any(_tags(record)["p"] for record in keys):
        return Line(domain, "DKIM", host, Outcome.FAIL, f"the key at {host} is revoked (empty p=)", fix)
    return Line(domain, "DKIM", host, Outcome.PASS, _shorten(keys[0]))


def _shorten(record: str, limit: int = 60) -> str:
    return record if len(record) <= limit else record[:limit] + "…"


# DMARC -------------------------------------------------------------------------------------------------------------

def _organisational(domain: str) -> str:
    """The parent a DMARC record may be published at (the last two labels: enough for the usual one-level
    subdomain like news.example.com; a public-suffix list would be needed for example.co.uk subdomains)."""
    return ".".join(domain.split(".")[-2:])


def _dmarc_records(dns: DnsReader, host: str) -> list[str]:
    return [t for t in dns.txt(host) if t.strip().lower().replace(" ", "").startswith("v=dmarc1")]


def _dmarc(dns: DnsReader, domain: str, tags: dict[str, str]) -> Line:
    host = f"_dmarc.{domain}"
    fix = f'TXT {host} "v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}"'
    records, policy_tag = _dmarc_records(dns, host), "p"
    parent = _organisational(domain)
    if not records and parent != domain:
        records, policy_tag = _dmarc_records(dns, f"_dmarc.{parent}"), "sp"
    if len(records) > 1:
        return Line(domain, "DMARC", host, Outcome.FAIL,
                    f"{len(records)} DMARC records (receivers then apply none): " + " | ".join(records),
                    f"one {fix}")
    record = records[0] if records else ""
    if not record:
        return Line(domain, "DMARC", host, Outcome.FAIL,
                    "no DMARC record (Gmail, Yahoo and Outlook.com require one from bulk senders; p=none is "
                    "enough to start, with reports sent to rua)", fix)
    tags.update(_tags(record))
    policy = (tags.get(policy_tag) or tags.get("p", "")).lower()
    if policy not in DMARC_POLICIES:
        return Line(domain, "DMARC", host, Outcome.FAIL, f"no policy (p=): {record}", fix)
    if policy == "none":
        return Line(domain, "DMARC", host, Outcome.WARN,
                    f"p=none: accepted by the providers, but receivers act on nothing; move to quarantine once "
                    f"the reports show your mail passing: {record}",
                    f'TXT {host} "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@{domain}"')
    return Line(domain, "DMARC", host, Outcome.PASS, record)


def _alignment(domain: str, esp: EspDns | None, dkim: Line, return_path: Line, tags: dict[str, str]) -> Line:
    """DMARC passes when DKIM or SPF aligns with the From domain (RFC 7489 §3.1)."""
    host = f"_dmarc.{domain}"
    if esp is None:
        return _no_esp(domain, "DMARC alignment")
    if Outcome.UNCHECKED in (dkim.outcome, return_path.outcome):
        return Line(domain, "DMARC alignment", host, Outcome.UNCHECKED,
                    "needs the DKIM and Return-Path lines, which could not be checked")
    dkim_aligns = dkim.outcome == Outcome.PASS  # the key is at the From domain, so the signature's d= is it
    strict_spf = tags.get("aspf", "r").lower() == "s"
    spf_aligns = return_path.outcome == Outcome.PASS and (not strict_spf or return_path.host == domain)
    if dkim_aligns and spf_aligns:
        return Line(domain, "DMARC alignment", host, Outcome.PASS,
                    f"DKIM signs as {domain}; the Return-Path {return_path.host} aligns for SPF")
    if dkim_aligns:
        why = (f"aspf=s: the Return-Path {return_path.host} is a subdomain, so SPF never aligns"
               if strict_spf and return_path.outcome == Outcome.PASS else "SPF does not align (see Return-Path)")
        return Line(domain, "DMARC alignment", host, Outcome.WARN,
                    f"DMARC rests on DKIM alone ({why}); a forwarder that breaks the signature fails it",
                    f"drop aspf=s from {host} (relaxed alignment)" if strict_spf else return_path.fix)
    if spf_aligns:
        return Line(domain, "DMARC alignment", host, Outcome.WARN,
                    "DMARC rests on SPF alone (no DKIM key): forwarded mail fails it", dkim.fix)
    return Line(domain, "DMARC alignment", host, Outcome.FAIL,
                f"neither DKIM nor SPF aligns with {domain}: DMARC fails for every email",
                "; ".join(fix for fix in (dkim.fix, return_path.fix) if fix))


# Return-Path -------------------------------------------------------------------------------------------------------

def _return_path_name(domain: str, esp: EspDns | None) -> str:
    label = return_path_host(esp) if esp else ""
    if not label:
        return ""
    return domain if label == "@" else f"{label}.{domain}"


def _return_path(dns: DnsReader, domain: str, esp: EspDns | None) -> Line:
    if esp is None:
        return _no_esp(domain, "Return-Path")
    host = _return_path_name(domain, esp)
    if not host:
        return Line(domain, "Return-Path", "", Outcome.UNCHECKED,
                    f"ESP_RETURN_PATH_HOST is not set: the bounce (MAIL FROM) host {esp.name} shows for this domain")
    target = esp.return_path_target.lstrip(".")
    shown_target = target if not esp.return_path_target.startswith(".") else f"<the host {esp.name} shows>.{target}"
    fix = f"{esp.return_path_type} {host} {'10 ' if esp.return_path_type == 'MX' else ''}{shown_target}"
    found = dns.cname(host) if esp.return_path_type == "CNAME" else dns.mx(host)
    if not found:
        return Line(domain, "Return-Path", host, Outcome.FAIL, f"no {esp.return_path_type} record at {host}", fix)
    if not any(esp.return_path_points_at_esp(name) for name in found):
        return Line(domain, "Return-Path", host, Outcome.FAIL,
                    f"points at {', '.join(found)}, not at {esp.name}", fix)
    return Line(domain, "Return-Path", host, Outcome.PASS, f"{esp.return_path_type} {', '.join(found)}")
