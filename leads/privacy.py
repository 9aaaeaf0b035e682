"""What other areas hold about a lead, reached without importing them: a registry for export and erasure.

`leads` may not import `emails` or `funnel` (layers), yet a person's data download and erasure must cover the mail
we sent them, their purchases and their app sessions. So each area registers an exporter (a section of the
download) and an eraser (run inside `lead_erase`'s transaction) from its AppConfig.ready(), the same pattern as
`emails.rendering.register_context_provider`.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Model

from leads.models import Lead

ERASED = "[erased]"


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
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(key): self.scrub_json(item) for key, item in value.items()}
        return value

    def mentions(self, text: str) -> bool:
        pattern = self.address_pattern()
        return bool(pattern and text and pattern.search(text))


Exporter = Callable[[Lead], Any]
Eraser = Callable[[ErasedPerson], None]

# Sections of the download that `leads` writes itself.
RESERVED_SECTIONS = frozenset({"lead", "consents"})

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
    for fn in _erasers:
        fn(person)


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
