"""Normalising what people type into the signup form, with messages a person can act on.

Kept apart from the form so the services (and tests) use the same rules.
"""

import contextlib
import unicodedata
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit; longer cannot be delivered
FIRST_NAME_MAX_LENGTH = 100

# No allow-list: "someone@localhost" cannot receive our mail.
_email_syntax = EmailValidator(allowlist=[])

# Bidirectional overrides let a name render as something other than what it is ("Trojan Source").
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str:
    # Internationalised domains are stored in their ASCII (punycode) form, which every mail server accepts. Cached:
    # an import checks 100,000 addresses at a few hundred domains, and the idna codec is slow.
    return domain.encode("idna").decode("ascii")


def normalised_email(raw: str) -> str:
    """The one spelling an address is stored and looked up under: trimmed, lower case, ASCII domain.

    Every lookup of a lead by address uses it with `email=` (the plain unique index), never a case-insensitive
    match. It validates nothing and never raises: what normalise_email would refuse matches no stored lead."""
    local, at, domain = (raw or "").strip().rpartition("@")
    if at and domain:
        with contextlib.suppress(UnicodeError):  # not a domain: the address matches nothing, as it should
            domain = _ascii_domain(domain)
    return f"{local}{at}{domain}".lower()


def normalise_email(raw: str) -> str:
    """Return the address as we store it (normalised_email) or raise ValidationError with a message to act on."""
    email = (raw or "").strip()
    if not email:
        raise ValidationError("Please enter your email address.", code="required")
    if any(ch in email for ch in "\r\n\t\x00"):
        raise ValidationError("Please enter a single email address on one line.", code="invalid")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError("That address is too long to be a real one. Please check it.", code="too_long")
    local, at, domain = email.rpartition("@")
    if not at or not local:
        raise ValidationError("That address is missing its @ part, e.g. name@example.com.", code="invalid")
    if not domain or "." not in domain.strip("."):
        raise ValidationError(
            "That address is missing its domain after the @ (like gmail.com).", code="no_domain"
        )
    try:
        _ascii_domain(domain)
    except UnicodeError:
        raise ValidationError("The part after the @ is not a valid domain. Please check it.", code="invalid") from None
    email = normalised_email(email)
    try:
        _email_syntax(email)
    except ValidationError:
        raise ValidationError(
            "That does not look like a working email address. Please check for typos.", code="invalid"
        ) from None
    return email


def clean_first_name(raw: str) -> str:
    """Any script is welcome; what could break an email header or fake a display is not."""
    name = unicodedata.normalize("NFC", (raw or "").strip())
    if len(name) > FIRST_NAME_MAX_LENGTH:
        raise ValidationError(
            f"Please keep your first name under {FIRST_NAME_MAX_LENGTH} characters.", code="too_long"
        )
    if any(unicodedata.category(ch) == "Cc" or ch in _BIDI_CONTROLS for ch in name):
        raise ValidationError("Please enter your first name on one line, without special characters.",
                              code="control")
    lowered = name.lower()
    if "://" in lowered or "www." in lowered:
        # Spam bots put links in name fields so our greeting ("Hi <link>") carries them.
        raise ValidationError("Please enter just your first name.", code="link")
    return name
