"""Pages that only change a lead's state, reached from links in emails (signed tokens, no login: leads/links.py).

The preferences link is in every email, so whoever an email is forwarded
to holds it: it pauses, stops and unsubscribes, but a data download or an erasure only asks for a single-use link,
mailed to the address at that moment (leads/privacy_link.py).
"""

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from leads import privacy, tokens
from leads.client import client_ip, client_user_agent
from leads.consent import CONSENT_TEXT
from leads.links import InvalidLink, erased, invalid_link, lead_from_token, with_preferences_lead
from leads.models import Lead
from leads.privacy_link import (
    ERASE,
    EXPORT,
    PRIVACY_LINK_MAX_AGE,
    privacy_link_erase,
    privacy_link_export,
    privacy_token_lead,
)
from leads.services import (
    lead_pause,
    lead_resubscribe,
    lead_set_unsubscribe_reason,
    lead_stop_reminders,
    lead_unsubscribe,
)
from leads.sunset import lead_activity_record
from leads.time_zones import send_time_text, time_zone_options

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
    "keep": "Thank you. We will keep sending you our emails.",
    # The change itself is a `funnel` flow (it moves unsent emails too): funnel.landing.views.preferences_time_zone.
    "time_zone": "Saved. Your reminders now follow the time zone below.",
}


@never_cache  # shows the address; no shared cache may keep it
@require_http_methods(["GET", "HEAD", "POST"])
@with_preferences_lead
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
        elif action != "keep":
            return HttpResponse("Unknown action", status=400, content_type="text/plain")
        if action != "unsubscribe":  # a save here is a person reading us: the sunset lets them be (leads/sunset.py)
            lead_activity_record(lead_id=lead.pk, reason=f"saved their email preferences ({action})")
        return redirect(f"{reverse('preferences', args=[token])}?done={action}")
    lead.refresh_from_db()
    return render(request, "leads/preferences.html", {
        "lead": lead, "token": token, "done": _DONE_MESSAGES.get(request.GET.get("done", "")),
        "pause_days": PAUSE_DAYS, "consent_text": CONSENT_TEXT, "now": timezone.now(),
        "time_zone_options": time_zone_options(lead.time_zone), "zone_chosen": True, "send_time": send_time_text(),
    })


def _privacy_link_request(request: HttpRequest, token: str, lead: Lead, action: str) -> HttpResponse:
    """Mail a fresh single-use link for `action` and say so. The sender limits how many a reader gets an hour
    (over that, silently none), so a forwarded link cannot flood an inbox; the page is the same either way."""
    privacy.privacy_link_send(lead, action)
    return render(request, "leads/privacy_link_sent.html", {
        "action": action, "minutes": int(PRIVACY_LINK_MAX_AGE.total_seconds()) // 60, "token": token,
    })


@never_cache
@require_POST
@with_preferences_lead
def preferences_export(request: HttpRequest, token: str, lead: Lead) -> HttpResponse:
    """The preferences page's "Download my data": mails a single-use download link (never the data itself)."""
    return _privacy_link_request(request, token, lead, EXPORT)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@with_preferences_lead
def preferences_erase(request: HttpRequest, token: str, lead: Lead) -> HttpResponse:
    """GET explains and offers the button (scanners only GET); POST mails a single-use erasure link."""
    if request.method == "POST":
        return _privacy_link_request(request, token, lead, ERASE)
    return render(request, "leads/erase_request.html", {"token": token})


def _privacy_link_invalid(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/privacy_link_invalid.html", status=400)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def privacy_export(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed download link: GET shows the button, POST downloads and uses the link up."""
    try:
        if request.method != "POST":
            privacy_token_lead(token, EXPORT)
            return render(request, "leads/privacy_export.html")
        data = privacy_link_export(token=token)
    except tokens.BadToken:
        return _privacy_link_invalid(request)
    response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False),
                            content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="pain-reset-my-data.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def privacy_erase(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed erasure link: GET shows the confirmation form, POST with the box ticked erases."""
    try:
        privacy_token_lead(token, ERASE)
    except tokens.BadToken:
        return _privacy_link_invalid(request)
    if request.method != "POST":
        return render(request, "leads/erase_confirm.html")
    if request.POST.get("confirm") != "yes":
        return render(request, "leads/erase_confirm.html", {"missing_confirm": True}, status=400)
    try:
        privacy_link_erase(token=token, ip_address=client_ip(request), user_agent=client_user_agent(request))
    except tokens.BadToken:  # a second press raced this one and erased first
        return _privacy_link_invalid(request)
    return erased(request)


@csrf_exempt  # RFC 8058: mail providers POST without cookies or a CSRF token; the signed token is the proof.
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_one_click(request: HttpRequest, token: str) -> HttpResponse:
    """POST (body `List-Unsubscribe=One-Click`, or the button on the GET page) unsubscribes; idempotent.
    A GET never does: link scanners and previews fetch every URL in a message."""
    try:
        lead = lead_from_token("unsubscribe", token, None)
    except InvalidLink:
        return invalid_link(request)
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
        lead = lead_from_token("unsubscribe", token, None)
    except InvalidLink:
        return invalid_link(request)
    code = request.POST.get("reason", "")
    if code in UNSUBSCRIBE_REASONS and not lead.is_erased:
        detail = request.POST.get("detail", "").strip()
        lead_set_unsubscribe_reason(lead=lead, reason=f"{UNSUBSCRIBE_REASONS[code]}: {detail}" if detail
                                    else UNSUBSCRIBE_REASONS[code])
    return render(request, "leads/reason_thanks.html")
