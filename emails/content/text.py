"""The three parts of an email's copy, apart from where they are stored (a version, a draft, a variant, a file)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CopyText:
    subject: str
    preheader: str
    body: str  # Markdown with merge fields
    allow_external_links: bool = False
