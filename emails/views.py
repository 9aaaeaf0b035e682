"""The signed click redirect: records which email (row) was clicked, then sends the reader on.

A tagging link (`[Yes, tell me more](link:free_guide tag:interested)`) stops on a page with one button first: mailbox
scanners GET every link of a message, so the GET only records the click (as today) and the tag waits for the
reader's press (a POST with its CSRF token), as the upgrade link waits for one before a checkout.
"""

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from emails.models import Click
from emails.services import click_record, click_tag_confirm
from leads import tokens

# Old emails stay in inboxes: a click link keeps working for a year.
CLICK_MAX_AGE_SECONDS = 365 * 86400
DESTINATION_NAMES = {Click.Target.FREE_GUIDE: "the free quick reference", Click.Target.FULL_GUIDE: "the full guide",
                     Click.Target.APP: "today's session", Click.Target.UPGRADE: "the full guide"}


def _destination(target: str, lead_id: int, row_id: int | None) -> str:
    if target == Click.Target.UPGRADE:
        return reverse("upgrade", args=[tokens.sign("upgrade", {"lead": lead_id, "email": row_id})])
    return reverse({Click.Target.FREE_GUIDE: "free-guide", Click.Target.FULL_GUIDE: "full-guide",
                    Click.Target.APP: "app"}[Click.Target(target)])


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def email_click(request: HttpRequest, token: str) -> HttpResponse:
    try:
        payload = tokens.unsign("click", token, max_age_seconds=CLICK_MAX_AGE_SECONDS)
        target = Click.Target(payload["t"])
        lead_id = int(payload["lead"])
        row_id = int(payload["row"]) if payload.get("row") is not None else None
        tag = str(payload.get("tag") or "")
    except (tokens.BadToken, KeyError, TypeError, ValueError) as exc:
        raise Http404("This link is not valid.") from exc
    if request.method == "POST":
        if not tag:
            return HttpResponseNotAllowed(["GET", "HEAD"])
        click_tag_confirm(lead_id=lead_id, row_id=row_id, target=target, tag=tag)
        return HttpResponseRedirect(_destination(target, lead_id, row_id), status=303)
    # Every request is recorded; HEAD, scanner agents and the like are marked as machine clicks, not credited.
    click_record(lead_id=lead_id, row_id=row_id, target=target, method=request.method or "GET",
                 user_agent=request.headers.get("User-Agent", "")[:500])
    if tag:
        return render(request, "emails/pages/tag_link.html", {"destination_name": DESTINATION_NAMES[target]})
    return HttpResponseRedirect(_destination(target, lead_id, row_id))
