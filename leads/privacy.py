"""What other areas hold about a lead, reached without importing them: a registry for export and erasure.

`leads` may not import `emails` or `funnel` (layers), yet a person's data download and erasure must cover the mail
we sent them, their purchases and their app sessions. So each area registers an exporter (a section of the
download) and an eraser (run inside `lead_erase`'s transaction) from its AppConfig.ready(), the same pattern as
`emails.context.register_context_provider`. The same way, `emails` registers the sender of the single-use
download and erasure links (leads/privacy_link.py) that the preferences pages here ask for.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Model

from leads.models import Lead, SuppressionChange

ERASED = "[erased]"
# A name counts where it stands as a word of its own: not inside a longer run of letters or digits ("Ann" is
# not in "Annual"), but inside "spring_ann" or "ann-ad", which is how names end up in campaign tags.
_NAME_EDGE_BEFORE, _NAME_EDGE_AFTER = r"(?<![^\W_])", r"(?![^\W_])"
# Free text that only identifies the person through what they typed: cleared, not searched.
_CLEARED_LEAD_FIELDS = ("utm_term", "utm_content")
# Kept for the funnel's per-source counts, unless they quote the person.
_SEARCHED_LEAD_FIELDS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass(frozen=True)
class ErasedPerson:
    """Who was erased, as they were: the lead row is already anonymised when erasers run, but they still need
    the address and name to find copies of them in free text (bounce messages, Stripe payloads)."""

    lead: Lead
    email: str
    first_name: str

    def address_pattern(self) -> re.Pattern[str] | None:
        """The address as a whole token: "ann@example.com" must not match inside "joann@example.com"."""
        if not self.email:
            return None
        return re.compile(
            r"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])" + re.escape(self.email) + r"(?![A-Za-z0-9-])(?!\.[A-Za-z0-9])",
            re.IGNORECASE,
        )

    def scrub(self, text: str) -> str:
        """`text` with every copy of the address replaced."""
        pattern = self.address_pattern()
        return pattern.sub(ERASED, text) if pattern and text else text

    def scrub_json(self, value: Any) -> Any:
        """A copy of a JSON value with every copy of the address replaced, in keys and strings at any depth."""
        return self._scrub_json(value, self.scrub)

    def _scrub_json(self, value: Any, scrub_string: Callable[[str], str]) -> Any:
        # Keys lose only the address, whatever the strings lose, so a payload keeps its shape.
        if isinstance(value, str):
            return scrub_string(value)
        if isinstance(value, list):
            return [self._scrub_json(item, scrub_string) for item in value]
        if isinstance(value, dict):
            return {self.scrub(key): self._scrub_json(item, scrub_string) for key, item in value.items()}
        return value

    def mentions(self, text: str) -> bool:
        pattern = self.address_pattern()
        return bool(pattern and text and pattern.search(text))

    def name_pattern(self) -> re.Pattern[str] | None:
        """The first name as a word; none for a single letter, which names nobody and is in every sentence."""
        name = self.first_name.strip()
        if len(name) < 2:
            return None
        return re.compile(_NAME_EDGE_BEFORE + re.escape(name) + _NAME_EDGE_AFTER, re.IGNORECASE)

    def scrub_free_text(self, text: str) -> str:
        """`text` without the address and without the first name: for messages written about the person (a
        bounce quoting "Dear Ann", an ad tag naming them). Not for JSON keys, which `scrub_json` keeps to the
        address so a payload keeps its shape."""
        text = self.scrub(text)
        pattern = self.name_pattern()
        return pattern.sub(ERASED, text) if pattern and text else text

    def scrub_json_values(self, value: Any) -> Any:
        """Like scrub_json, and every string value also loses the first name."""
        return self._scrub_json(value, self.scrub_free_text)

    def mentioned_in(self, text: str) -> bool:
        """The address or the first name is in `text`."""
        return bool(text) and self.scrub_free_text(text) != text


Exporter = Callable[[Lead], Any]
Eraser = Callable[[ErasedPerson], None]

# Sections of the download that `leads` writes itself.
RESERVED_SECTIONS = frozenset({"lead", "consents", "suppression_history"})

_exporters: dict[str, Exporter] = {}
_erasers: list[Eraser] = []


def register_exporter(name: str, fn: Exporter) -> Exporter:
    """fn(lead) -> JSON-able value, stored under `name` in the lead's data download.

    Registering a name again (a module imported twice) replaces the earlier function.
    """
    if name in RESERVED_SECTIONS:
        raise ValueError(f"{name!r} is a section leads writes itself")
    _exporters[name] = fn
    return fn


def register_eraser(fn: Eraser) -> Eraser:
    """fn(person) runs inside `lead_erase`'s transaction, after the lead row is anonymised: if any eraser
    fails, nothing is erased (the person can ask again) rather than leaving half of their data behind."""
    global _erasers
    _erasers = [f for f in _erasers if f is not fn]
    _erasers.append(fn)
    return fn


def unregister(fn: Callable[..., Any]) -> None:
    global _erasers
    _erasers = [f for f in _erasers if f is not fn]
    for name in [n for n, f in _exporters.items() if f is fn]:
        del _exporters[name]


def export_sections(lead: Lead) -> dict[str, Any]:
    return {name: fn(lead) for name, fn in _exporters.items()}


def erase_everywhere(person: ErasedPerson) -> None:
    _erase_lead_free_text(person)
    for fn in _erasers:
        fn(person)


def _erase_lead_free_text(person: ErasedPerson) -> None:
    """The lead's own free text that `lead_erase` does not clear itself: what arrived in the landing URL (a name in
    utm_term, an address in utm_content), the mailbox key, and the reasons written when a suppression changed."""
    lead = person.lead
    changed = ["mailbox_sha256", *_CLEARED_LEAD_FIELDS]
    lead.mailbox_sha256 = ""
    for name in _CLEARED_LEAD_FIELDS:
        setattr(lead, name, "")
    for name in _SEARCHED_LEAD_FIELDS:
        if person.mentioned_in(getattr(lead, name)):
            setattr(lead, name, ERASED)
            changed.append(name)
    lead.save(update_fields=changed)
    for change in SuppressionChange.objects.filter(lead=lead).exclude(reason=""):
        change.reason = person.scrub_free_text(change.reason)
        change.save(update_fields=["reason"])


# --- The single-use download and erasure links ---------------------------------------------------------------

PrivacyLinkSender = Callable[[Lead, str], None]
_privacy_link_senders: list[PrivacyLinkSender] = []


def register_privacy_link_sender(fn: PrivacyLinkSender) -> PrivacyLinkSender:
    """fn(lead, action) queues the email carrying a fresh single-use link for `action` (leads/privacy_link.py).
    There is one sender: registering again (a module imported twice) replaces it."""
    _privacy_link_senders[:] = [fn]
    return fn


def privacy_link_send(lead: Lead, action: str) -> None:
    if not _privacy_link_senders:
        raise LookupError("no privacy link sender registered (the emails app registers it when ready)")
    _privacy_link_senders[0](lead, action)


def plain(value: Any) -> Any:
    """A JSON-able copy of a model field's value (the download is plain JSON, no custom encoder)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def export_rows(rows: Any, fields: list[str]) -> list[dict[str, Any]]:
    """Model rows as dicts of the named fields (a dotted name follows a foreign key: "scheduled_email.step")."""

    def value(row: Model, name: str) -> Any:
        found: Any = row
        for part in name.split("."):
            found = getattr(found, part, None)
            if found is None:
                return None
        return plain(found)

    return [{name.replace(".", "_"): value(row, name) for name in fields} for row in rows]
