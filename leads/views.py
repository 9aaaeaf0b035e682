"""Pages that only change a lead's state, reached from links in emails (signed tokens, no login).

Preferences tokens expire after 180 days (they also open the data download); unsubscribe tokens never do:
an unsubscribe only ever reduces mail, and the law wants old links to keep working.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leads import tokens
from leads.client import client_ip, client_user_agent
from leads.consent import CONSENT_TEXT
from leads.models import Lead
from leads.selectors import lead_export
from leads.services import (
    lead_erase,
    lead_pause,
    lead_resubscribe,
    lead_set_unsubscribe_reason,
    lead_stop_reminders,
    lead_unsubscribe,
)

PREFERENCES_MAX_AGE = timedelta(days=180)
PAUSE_DAYS = 3
UNSUBSCRIBE_REASONS = {
    "too-many": "Too many emails",
    "not-relevant": "Not what I expected",
    "better": "My pain is better",
    "bought": "I already have what I need",
    "other": "Something else",
}
_DONE_MESSAGES = {
    "pause": f"Paused. Your reminders take a {PAUSE_DAYS}-day break and then carry on.",
    "stop_reminders": "Done. No more daily reminders; you still get receipts and sign-in links.",
    "unsubscribe": "You are unsubscribed from all our emails.",
    "resubscribe": "Welcome back. Your emails are on again.",
}


class _InvalidLink(Exception):
    pass


def _lead_from(purpose: str, token: str, max_age: timedelta | None) -> Lead:
    try:
        payload = tokens.unsign(purpose, token,
                                max_age_seconds=int(max_age.total_seconds()) if max_age else None)
        lead = Lead.objects.filter(pk=int(payload["lead"])).first()
    except (tokens.BadToken, KeyError, TypeError, ValueError):
        raise _InvalidLink from None
    if lead is None:
        raise _InvalidLink
    return lead


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/link_invalid.html", status=400)


def _erased(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/erased.html")


def _with_preferences_lead(
    view: Callable[[HttpRequest, str, Lead], HttpResponse],
) -> Callable[[HttpRequest, str], HttpResponse]:
    """Resolve the preferences token to its lead; a bad link or an erased lead gets its own page."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        try:
            lead = _lead_from("preferences", token, PREFERENCES_MAX_AGE)
        except _InvalidLink:
            return _invalid_link(request)
        if lead.is_erased:
            return _erased(request)
        return view(request, token, lead)

    return wrapper


@never_cache  # shows the address; no shared cache may keep it
@require_http_methods(["GET", "HEAD", "POST"])
@_with_preferences_lead
def preferences(request: HttpRequest, token: str, lead: Lead) -> HttpResponse:
    if request.method == "POST":
        action = request.POST.get("action", "")
        ip, agent = client_ip(request), client_user_agent(request)
        if action == "pause":
            lead_pause(lead=lead, days=PAUSE_DAYS)
        elif action == "stop_reminders":
            lead_stop_reminders(lead=lead)
        elif action == "unsubscribe":
            lead_unsubscribe(lead=lead, ip_address=ip, user_agent=agent)
        elif action == "resubscribe":
            lead_resubscribe(lead=lead, ip_address=ip, user_agent=agent)
        else:
            return HttpResponse("Unknown action", status=400, content_type="text/plain")
        return redirect(f"{reverse('preferences', args=[token])}?done={action}")
    lead.refresh_from_db()
    return render(request, "leads/preferences.html", {
        "lead": lead, "token": token, "done": _DONE_MESSAGES.get(request.GET.get("done", "")),
        "pause_days": PAUSE_DAYS, "consent_text": CONSENT_TEXT, "now": timezone.now(),
    })


@never_cache
@require_POST
@_with_preferences_lead
def preferences_export(request: HttpRequest, token: str, lead: Lead) -> HttpResponse:
    response = HttpResponse(json.dumps(lead_export(lead=lead), indent=2, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="pain-reset-my-data.json"'
    return response


@require_http_methods(["GET", "HEAD", "POST"])
@_with_preferences_lead
def preferences_erase(request: HttpRequest, token: str, lead: Lead) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            return render(request, "leads/erase_confirm.html", {"token": token, "missing_confirm": True},
                          status=400)
        lead_erase(lead=lead, ip_address=client_ip(request), user_agent=client_user_agent(request))
        return _erased(request)
    return render(request, "leads/erase_confirm.html", {"token": token})


@csrf_exempt  # RFC 8058: mail providers POST without cookies or a CSRF token; the signed token is the proof.
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    """POST (body `List-Unsubscribe=One-Click`, or the button on the GET page) unsubscribes; idempotent.
    A GET never does: link scanners and previews fetch every URL in a message."""
    try:
        lead = _lead_from("unsubscribe", token, None)
    except _InvalidLink:
        return _invalid_link(request)
    if request.method != "POST":
        return render(request, "leads/unsubscribe.html", {"token": token, "erased": lead.is_erased})
    lead_unsubscribe(lead=lead, ip_address=client_ip(request), user_agent=client_user_agent(request))
    return render(request, "leads/unsubscribed.html", {
        "token": token, "erased": lead.is_erased, "reasons": UNSUBSCRIBE_REASONS,
        "preferences_token": tokens.sign("preferences", {"lead": lead.pk}),
    })


@require_POST
def unsubscribe_reason(request: HttpRequest, token: str) -> HttpResponse:
    try:
        lead = _lead_from("unsubscribe", token, None)
    except _InvalidLink:
        return _invalid_link(request)
    code = request.POST.get("reason", "")
    if code in UNSUBSCRIBE_REASONS and not lead.is_erased:
        detail = request.POST.get("detail", "").strip()
        lead_set_unsubscribe_reason(lead=lead, reason=f"{UNSUBSCRIBE_REASONS[code]}: {detail}" if detail
                                    else UNSUBSCRIBE_REASONS[code])
    return render(request, "leads/reason_thanks.html")
