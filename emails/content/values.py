"""The merge values of one email, from its render context: the template context (emails/context.py) plus whatever the
registered context providers add (confirm links, sign-in links, receipts...), mapped onto the documented names of
emails/content/merge.py. Links are read lazily: a tracked link is signed only when the copy uses it."""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from django.template import Context, Template
from django.template.loader import get_template

from emails.content.merge import Values, split_tagged
from emails.links import CLICK_TARGETS

# Named link -> the context key that holds its URL (the click-tracked links are under context["links"]).
LINK_KEYS = {
    "todays_session": "signin_hint_url", "preferences": "preferences_url", "confirm": "confirm_url",
    "sign_in": "magic_link_url", "sign_in_request": "signin_request_url", "retry_checkout": "retry_url",
    "privacy": "privacy_url",
}
FIELD_KEYS = ("first_name", "day_number", "first_reminder", "price", "amount", "reference", "magic_link_hours",
              "privacy_link_minutes")


@lru_cache(maxsize=1)
def routine_minutes() -> str:
    # The product figure comes from the guide (funnel), which `emails` may not import; config's builtin template
    # tag is the seam every page and email shares.
    return Template("{% routine_minutes %}").render(Context())


class LazyLinks(dict[str, str]):
    """Named link -> URL, made on first use from the render context."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        super().__init__()
        self.context = context

    def __missing__(self, name: str) -> str:
        if split_tagged(name)[0] in CLICK_TARGETS:
            url = str(self.context["links"][name])  # a tagged one too (`free_guide;tag=interested`)
        else:
            url = str(self.context.get(LINK_KEYS.get(name, ""), "") or "")
        self[name] = url
        return url


def _receipt_block(context: Mapping[str, Any]) -> tuple[str, str]:
    receipt = {"receipt": context["receipt"]}
    html = get_template("emails/_receipt.html").render(receipt)
    text = get_template("emails/_receipt.txt").template.render(Context(receipt, autoescape=False))  # type: ignore[attr-defined]
    return html, text.strip("\n")


def values_from_context(context: Mapping[str, Any], *, buyer: bool) -> Values:
    fields = {key: str(context.get(key, "") or "") for key in FIELD_KEYS}
    fields["routine_minutes"] = routine_minutes()
    fields["confirm_address"] = str(context.get("confirm_url") or "")
    fields["practice_message"] = str((context.get("practice") or {}).get("message") or "")
    flags = {"buyer"} if buyer else set()
    if context.get("privacy_action") == "erase":
        flags.add("erase")
    blocks = {"receipt": _receipt_block(context)} if context.get("receipt") else {}
    return Values(fields=fields, links=LazyLinks(context), flags=frozenset(flags), blocks=blocks)
