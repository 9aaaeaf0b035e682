"""Landing page, signup, thank-you page, the confirmation link, the time zone change posted from the preferences
page, and /favicon.ico. Thin: parse, call one service, render."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_http_methods, require_POST

from funnel.guide import content
from funnel.landing import typed
from funnel.landing.abuse import signup_refuse_bot
from funnel.landing.forms import SignupForm
from funnel.landing.services import (
    PURGE_UNCONFIRMED_AFTER,
    reader_time_zone_change,
    signup_confirm,
    signup_submit,
    visit_record,
)
from funnel.landing.utm import UTM_FIELDS, clean_utm
from leads import tokens
from leads.bots import HONEYPOT_FIELD, STAMP_FIELD, form_stamp_make
from leads.client import client_ip, client_user_agent
from leads.confirmation import confirm_token_already_used, confirm_token_lead
from leads.consent import CONSENT_TEXT, CONSENT_VERSION
from leads.links import with_preferences_lead
from leads.models import Lead
from leads.ratelimit import rate_limit_hit
from leads.sunset import lead_activity_record
from leads.time_zones import clean_time_zone, known_zones, send_time_text, time_zone_options

_BOT_MARKERS = ("bot", "spider", "crawl", "slurp", "preview", "monitor")


def _form_context(form: SignupForm, *, zone_chosen: bool) -> dict[str, Any]:
    """What the signup form partial needs. `zone_chosen`: the time zone shown is the reader's own choice, which
    the page script must not replace with the browser's."""
    selected = clean_time_zone(form["time_zone"].value())  # a bogus posted zone shows as the default
    return {"form": form, "consent_text": CONSENT_TEXT, "consent_version": CONSENT_VERSION,
            "honeypot_field": HONEYPOT_FIELD, "stamp_field": STAMP_FIELD, "form_stamp": form_stamp_make(),
            "time_zone_options": time_zone_options(selected),
            "zone_chosen": zone_chosen, "send_time": send_time_text()}


def landing_context(form: SignupForm) -> dict[str, Any]:
    return {**_form_context(form, zone_chosen=form.is_bound), "buy_url": reverse("buy"),
            "timings": {"release": content.RELEASE_MINUTES, "stretch": content.STRETCH_MINUTES,
                        "heat": f"{content.HEAT_MIN_MINUTES}–{content.HEAT_MAX_MINUTES}"},
            # Social posts link here with tracking parameters; shares and search engines should all name one URL.
            "canonical_url": settings.SITE_URL + reverse("landing"),
            "og_image_url": settings.SITE_URL + static("img/og.png")}


def _is_bot(request: HttpRequest) -> bool:
    agent = request.META.get("HTTP_USER_AGENT", "").lower()
    return not agent or any(marker in agent for marker in _BOT_MARKERS)


@require_http_methods(["GET", "HEAD"])
def landing(request: HttpRequest) -> HttpResponse:
    utm = {name: clean_utm(request.GET.get(name, "")) for name in UTM_FIELDS}
    if request.method == "GET" and not _is_bot(request):
        visit_record(day=timezone.now().date(), utm_source=utm["utm_source"], utm_medium=utm["utm_medium"],
                     utm_campaign=utm["utm_campaign"])
    # First touch travels with the form as hidden fields: no cookie and no session needed.
    form = SignupForm(initial={**utm, "referrer": request.META.get("HTTP_REFERER", "")[:500],
                               "landing_path": request.get_full_path()[:500]})
    return render(request, "funnel/landing.html", landing_context(form))


@require_POST
def signup(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request)
    if rate_limit_hit(scope="signup", ip=ip, rate=settings.SIGNUP_RATE_LIMIT):
        return render(request, "funnel/landing/slow_down.html", status=429)
    if signup_refuse_bot(honeypot=request.POST.get(HONEYPOT_FIELD), stamp=request.POST.get(STAMP_FIELD, "")):
        # A bot: the same page a person gets, and nothing stored or sent, so it learns nothing.
        return typed.remember(redirect("signup-thanks"), request.POST)
    form = SignupForm(request.POST)
    if not form.is_valid():
        # Just the form, not the long page: on a phone the problem is on the first screen.
        return render(request, "funnel/landing/signup_errors.html", landing_context(form), status=400)
    signup_submit(email=form.cleaned_data["email"], first_name=form.cleaned_data["first_name"],
                  time_zone=form.cleaned_data["time_zone"], ip_address=ip, user_agent=client_user_agent(request),
                  attribution=form.attribution())
    # Post/Redirect/Get, to one page for every outcome: no way to tell a known address from a new one. The page
    # repeats the address typed (from a signed cookie, never the URL), so a typo can be caught and corrected.
    return typed.remember(redirect("signup-thanks"), {**form.cleaned_data, **form.attribution().as_lead_fields()})


@never_cache  # shows the address typed; no shared cache may keep it
@require_http_methods(["GET", "HEAD"])
def thanks(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {"senders": typed.senders(), "typed": None,
                               "purge_days": PURGE_UNCONFIRMED_AFTER.days}
    values = typed.recall(request)
    if values:
        # The form again, filled in as sent, to send to a corrected address; consent is asked for again.
        form = SignupForm(initial=values)
        context.update(_form_context(form, zone_chosen=True), typed=values,
                       submit_label="Send it to this address instead")
    return render(request, "funnel/landing/thanks.html", context)


@never_cache
@require_POST
@with_preferences_lead
def preferences_time_zone(request: HttpRequest, token: str, lead: Lead) -> HttpResponse:
    """The time zone form of the preferences page (leads/views.py): store the zone and move the unsent emails."""
    zone = request.POST.get("time_zone", "").strip()
    if zone not in known_zones():
        return HttpResponse("Unknown time zone", status=400, content_type="text/plain")
    reader_time_zone_change(lead=lead, time_zone=zone)
    lead_activity_record(lead_id=lead.pk, reason="saved their email preferences (time zone)")
    return redirect(f"{reverse('preferences', args=[token])}?done=time_zone")


@cache_control(max_age=86400)
@require_http_methods(["GET", "HEAD"])
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico for the tools that ask for it there (pages name the icon in a <link>): the static file."""
    return HttpResponseRedirect(static("favicon.ico"))


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (link scanners only GET); POST confirms and opens the free guide."""
    try:
        lead = confirm_token_lead(token)
    except tokens.BadToken:
        if confirm_token_already_used(token):
            return HttpResponseRedirect(reverse("free-guide"))
        return render(request, "funnel/landing/confirm_invalid.html", status=400)
    if request.method == "POST":
        signup_confirm(lead=lead, ip_address=client_ip(request), user_agent=client_user_agent(request))
        return HttpResponseRedirect(reverse("free-guide") + "?welcome=1")
    return render(request, "funnel/landing/confirm.html", {"resubscribe": lead.status == lead.Status.UNSUBSCRIBED})
