"""One mailbox, many spellings: the key under which per-mailbox limits count.

A stored address is already trimmed and lower-cased (leads/validation.py), yet the same inbox still takes mail
under other spellings: a quoted local part (`"ann"@example.com`), a sub-address (`ann+news@example.com`, RFC 5233,
honoured by most providers), and at Gmail dots anywhere in the local part and the googlemail.com domain. Each
spelling is a lead of its own (we store what the person typed); this key is only for counting, never for sending.
"""

import hashlib

# Gmail ignores dots in the local part and delivers googlemail.com to the same inbox.
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def _unquote(local: str) -> str:
    """The local part without RFC 5322 quoting: `"a\\"b"` is the mailbox `a"b`."""
    if len(local) < 2 or not (local.startswith('"') and local.endswith('"')):
        return local
    inner, plain, escaped = local[1:-1], [], False
    for ch in inner:
        if escaped or ch != "\\":
            plain.append(ch)
            escaped = False
        else:
            escaped = True
    return "".join(plain)


def canonical_mailbox(email: str) -> str:
    """The address every spelling of this mailbox maps to, e.g. `"A.Nn+x"@GoogleMail.com` → `ann@gmail.com`."""
    local, _, domain = email.strip().rpartition("@")
    local, domain = _unquote(local).lower(), domain.lower().rstrip(".")
    local = local.split("+", 1)[0] or local  # "+x@…" alone is a mailbox called "+x", not a tag
    if domain in _GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def mailbox_sha256(email: str) -> str:
    """What the lead row stores (leads.Lead.mailbox_sha256): a hash, so no second copy of the address is kept."""
    return hashlib.sha256(canonical_mailbox(email).encode()).hexdigest()
