"""The merge fields, named links and conditions that email copy may use: the whole vocabulary a marketer writes in.

In a subject, a preheader or a body:

- `{{ first_name }}`: a merge field, replaced by the reader's value when the email is rendered.
- `{{ if first_name }}, {{ first_name }}{{ end }}`: words shown only when the condition holds (`{{ else }}` for
  the other case; no nesting). A condition is a flag from CONDITIONS or any merge field, true when not empty.
- `[text](link:upgrade)`: a named link from LINKS (body only). Personal and tracked links are made at send time.
- `[text](link:upgrade){.button}`, alone in a paragraph: the email's one call-to-action button (body only).
- `[Yes, tell me more](link:free_guide tag:interested)`: a tracked link that also tags the reader who follows it
  (TAGGABLE_LINKS only). A mailbox scanner's GET tags nobody: the reader confirms with one press (emails/views.py).

The parsing lives here too, so the checks, the renderer and the editor's help all read one definition.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MERGE_FIELDS: dict[str, str] = {
    "first_name": "The reader's first name as they typed it; empty when they gave none, so word around it: "
                  "`Good morning{{ if first_name }}, {{ first_name }}{{ end }}.`",
    "confirm_address": "The confirm link's address as plain text, for a reader whose button does not work "
                       "(confirm, confirm-reminder).",
    "day_number": "The day of the 7-day plan, 1 to 7 (day-N emails).",
    "first_reminder": "When the first daily email arrives, on the reader's clock, e.g. \"Thursday, March 6, at "
                      "8 a.m. (Berlin time)\" (welcome).",
    "routine_minutes": "How long the daily routine takes, e.g. \"25–30\"; follow it with \"minutes\".",
    "practice_message": "For buyers: one sentence about yesterday's session logged in the app; empty otherwise. "
                        "Put it alone in a paragraph, which disappears when it is empty (day-N emails).",
    "price": "The full guide's price, e.g. \"$9.97\" (order-waiting, payment-failed).",
    "amount": "The amount of the payment the email is about (duplicate-refunded, order-review).",
    "reference": "The order reference, e.g. \"PR-000042\" (duplicate-refunded, order-review).",
    "magic_link_hours": "How many hours the sign-in link works (signin, access, already-yours, duplicate-refunded).",
    "privacy_link_minutes": "How many minutes the data download/erase link works (privacy-link).",
    "receipt": "The receipt table: product, amount, date and reference. Alone on its line (access).",
}

# Fields that stand for a whole block (a table), written alone on their line, not inside a sentence.
BLOCK_FIELDS = frozenset({"receipt"})

LINKS: dict[str, str] = {
    "free_guide": "The free quick reference (tracked click).",
    "upgrade": "Buy the full guide and app (tracked click; credits the purchase to this email).",
    "full_guide": "The full guide, for buyers (tracked click).",
    "app": "The daily-session app, for buyers (tracked click).",
    "todays_session": "For buyers: the sign-in page with their address filled in, one press to today's session.",
    "preferences": "The reader's email preferences (time zone, pause, unsubscribe).",
    "confirm": "Confirm the address (confirm, confirm-reminder).",
    "sign_in": "The single-use sign-in link (signin, access, already-yours, duplicate-refunded).",
    "sign_in_request": "The page to ask for a fresh sign-in link (access).",
    "retry_checkout": "A fresh checkout for an unfinished or failed order (order-waiting, payment-failed).",
    "privacy": "The single-use data download or erase link (privacy-link).",
}

CONDITIONS: dict[str, str] = {
    "buyer": "The reader has bought the full guide.",
    "erase": "A privacy link to erase the reader's data (otherwise: to download it).",
}

LINK_SCHEME = "link:"
# Tracked links that may carry a tag. Not `upgrade`: its page already asks for a press, to start a checkout.
TAGGABLE_LINKS = ("free_guide", "full_guide", "app")
# `(link:NAME tag:TAG)` as written in the copy, and the one-word form the renderer carries it in (`NAME;tag=TAG`):
# CommonMark ends a link's address at a space, so the tag is folded in before the Markdown is parsed.
TAGGED_LINK = re.compile(r"\]\(\s*link:([a-z_][a-z0-9_]*)\s+tag:([^\s)]*)\s*\)")
TAG_SEPARATOR = ";tag="


def fold_tagged_links(body: str) -> str:
    return TAGGED_LINK.sub(lambda m: f"]({LINK_SCHEME}{m.group(1)}{TAG_SEPARATOR}{m.group(2)})", body)


def split_tagged(name: str) -> tuple[str, str]:
    """`free_guide;tag=interested` -> ("free_guide", "interested"); an untagged name -> (name, "")."""
    link, _, tag = name.partition(TAG_SEPARATOR)
    return link, tag
BUTTON_MARK = "{.button}"
SMALL_MARK = "{.small}"

TAG = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = r"[a-z_][a-z0-9_]*"
_FIELD = re.compile(rf"\s*({_NAME})\s*")
_IF = re.compile(rf"\s*if\s+(not\s+)?({_NAME})\s*")
_ELSE = re.compile(r"\s*else\s*")
_END = re.compile(r"\s*end\s*")


EscapeFn = Callable[[str], str]


class MergeError(ValueError):
    """Copy that cannot be merged: an unknown field, an `if` without `end`, a tag that is not a tag."""


@dataclass(frozen=True)
class Values:
    """What one email's copy is merged with: field values, link URLs and the conditions that hold."""

    fields: dict[str, str]
    links: dict[str, str]
    flags: frozenset[str]
    blocks: dict[str, tuple[str, str]] = field(default_factory=dict)  # block field -> (HTML, text)

    def holds(self, name: str) -> bool:
        return name in self.flags or bool(self.fields.get(name)) or name in self.blocks


def block_token(name: str) -> str:
    """Where a block field goes: letters only, so Markdown leaves it alone and the renderer can swap it for the
    block's HTML or text."""
    return f"blockfield{name}blockfield"


def known_condition(name: str) -> bool:
    return name in CONDITIONS or name in MERGE_FIELDS


def merge(text: str, values: Values, *, escape: EscapeFn | None = None) -> str:
    """`text` with its conditions decided and its fields filled in; `escape` makes a value safe where it lands
    (Markdown escaping for a body, so a name like "*Ann*" stays literal)."""
    out: list[str] = []
    pos = 0
    showing: list[bool] = []  # at most one level: [] outside an if, [shown] inside
    branch_seen_else = False
    for match in TAG.finditer(text):
        if not showing or showing[-1]:
            out.append(text[pos:match.start()])
        pos = match.end()
        inner = match.group(1)
        if m := _IF.fullmatch(inner):
            if showing:
                raise MergeError("an {{ if }} inside another {{ if }}: close the first with {{ end }}")
            negate, name = bool(m.group(1)), m.group(2)
            if not known_condition(name):
                raise MergeError(f"unknown condition {{{{ if {name} }}}}")
            showing.append(values.holds(name) != negate)
            branch_seen_else = False
        elif _ELSE.fullmatch(inner):
            if not showing or branch_seen_else:
                raise MergeError("{{ else }} without {{ if }}")
            showing[-1] = not showing[-1]
            branch_seen_else = True
        elif _END.fullmatch(inner):
            if not showing:
                raise MergeError("{{ end }} without {{ if }}")
            showing.pop()
        elif m := _FIELD.fullmatch(inner):
            name = m.group(1)
            if name not in MERGE_FIELDS:
                raise MergeError(f"unknown merge field {{{{ {name} }}}}")
            if not showing or showing[-1]:
                if name in BLOCK_FIELDS:
                    out.append(block_token(name) if name in values.blocks else "")
                else:
                    value = values.fields.get(name, "")
                    out.append(escape(value) if escape else value)
        else:
            raise MergeError(f"{{{{{inner}}}}} is not a merge field")
    if showing:
        raise MergeError("{{ if }} without its {{ end }}")
    out.append(text[pos:])
    return "".join(out)


def conditions_used(text: str) -> set[str]:
    return {m.group(2) for tag in TAG.finditer(text) if (m := _IF.fullmatch(tag.group(1)))}
