"""The signed click redirect: records which email (row) was clicked, then sends the reader on."""

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_safe

from emails.models import Click
from emails.services import click_record
from leads import tokens

# Old emails stay in inboxes: a click link keeps working for a year.
CLICK_MAX_AGE_SECONDS = 365 * 86400


def _destination(target: str, lead_id: int, row_id: int | None) -> str:
    if target == Click.Target.UPGRADE:
        return reverse("upgrade", args=[tokens.sign("upgrade", {"lead": lead_id, "email": row_id})])
    return reverse({Click.Target.FREE_GUIDE: "free-guide", Click.Target.FULL_GUIDE: "full-guide",
                    Click.Target.APP: "app"}[Click.Target(target)])


@require_safe
def email_click(request: HttpRequest, token: str) -> HttpResponseRedirect:
    try:
        payload = tokens.unsign("click", token, max_age_seconds=CLICK_MAX_AGE_SECONDS)
        target = Click.Target(payload["t"])
        lead_id = int(payload["lead"])
        row_id = int(payload["row"]) if payload.get("row") is not None else None
    except (tokens.BadToken, KeyError, TypeError, ValueError) as exc:
        raise Http404("This link is not valid.") from exc
    # Every request is recorded; HEAD, scanner agents and the like are marked as machine clicks, not credited.
    click_record(lead_id=lead_id, row_id=row_id, target=target, method=request.method or "GET",
                 user_agent=request.headers.get("User-Agent", "")[:500])
    return HttpResponseRedirect(_destination(target, lead_id, row_id))
