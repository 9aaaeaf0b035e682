"""The three parts of an email's copy, apart from where they are stored (a version, a draft, a variant, a file)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emails.content.models import EmailCopy, EmailDraft


@dataclass(frozen=True)
class CopyText:
    subject: str
    preheader: str
    body: str  # Markdown with merge fields
    allow_external_links: bool = False


def text_of(stored: "EmailCopy | EmailDraft") -> CopyText:
    """The copy held by a published version or a draft."""
    return CopyText(subject=stored.subject, preheader=stored.preheader, body=stored.body,
                    allow_external_links=stored.allow_external_links)
