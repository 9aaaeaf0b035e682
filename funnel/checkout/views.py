"""Checkout pages (upgrade link, buy button, success, cancel, the dev simulator) and buyer sign-in pages.

Thin: parse the request, call the services and selectors, pick a template. No queries here: reads are in
funnel/checkout/selectors.py, the success page's work in success.py, the simulator's state machine in
simulator_actions.py, sign-in mail in signin.py.
"""

import hashlib
import logging
import secrets
from typing import Any

import stripe
from django import forms
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from emails.clicks import click_confirm_human
from emails.models import Click, ScheduledEmail
from funnel.checkout import simulator_actions
from funnel.checkout.selectors import lead_email_row, upgrade_link_read
from funnel.checkout.signin import signin_hint_read, signin_link_use, signin_mail_to_buyer, signin_token_buyer
from funnel.checkout.start import (
    checkout_idempotency_key,
    checkout_key_used,
    checkout_start,
    upgrade_token,
)
from funnel.checkout.stripe_client import simulator_enabled, stripe_key_reusable
from funnel.checkout.success import checkout_return
from leads.access import access_login, access_logout, access_signed_in_lead
from leads.client import client_ip
from leads.models import Lead
from leads.ratelimit import rate_limit_hit
from leads.validation import normalised_email

logger = logging.getLogger(__name__)

SESSION_CHECKOUT_IDS = "checkout_session_ids"  # the checkouts this browser started (success page sign-in)
SESSION_CHECKOUT_NONCES = "checkout_nonces"  # per (lead, email) attempt: a retry reuses the idempotency key
CHECKOUT_RATE_LIMIT = "30/h"  # checkout sessions a single IP may open: each is a Stripe API call


class EmailForm(forms.Form):
    email = forms.EmailField(max_length=254)


class OptionalEmailForm(forms.Form):
    email = forms.EmailField(max_length=254, required=False)


def _remember_checkout(request: HttpRequest, session_id: str) -> None:
    ids = [i for i in request.session.get(SESSION_CHECKOUT_IDS, []) if i != session_id]
    request.session[SESSION_CHECKOUT_IDS] = (ids + [session_id])[-10:]


def _idempotency_key(request: HttpRequest, *, lead_id: int | None, row_id: int | None, slot: str) -> str:
    """The key for this attempt: reused until a session was recorded with it (a retry after a timeout sends
    the same key, so Stripe never makes two sessions for one click), fresh after that, and fresh after an
    answer Stripe stored under it (see _idempotency_key_forget)."""
    nonces = request.session.get(SESSION_CHECKOUT_NONCES, {})
    nonce = nonces.get(slot)
    if not nonce or checkout_key_used(
            checkout_idempotency_key(lead_id=lead_id, email_row_id=row_id, nonce=nonce)):
        nonce = secrets.token_urlsafe(12)
        nonces = {**dict(list(nonces.items())[-9:]), slot: nonce}
        request.session[SESSION_CHECKOUT_NONCES] = nonces
        # Saved before the API call, so a crash or timeout afterwards still leaves the nonce for the retry.
        request.session.save()
    return checkout_idempotency_key(lead_id=lead_id, email_row_id=row_id, nonce=nonce)


def _idempotency_key_forget(request: HttpRequest, slot: str) -> None:
    """The next attempt gets a new key: Stripe answered this one (see stripe_key_reusable)."""
    nonces = dict(request.session.get(SESSION_CHECKOUT_NONCES, {}))
    if nonces.pop(slot, None) is not None:
        request.session[SESSION_CHECKOUT_NONCES] = nonces


def _start_and_redirect(request: HttpRequest, *, lead: Lead | None, row: ScheduledEmail | None, email: str,
                        lead_verified: bool, slot: str, retry_by_post: bool = False) -> HttpResponse:
    if rate_limit_hit(scope="checkout", ip=client_ip(request), rate=CHECKOUT_RATE_LIMIT):
        return render(request, "funnel/checkout/error.html", {"reason": "busy"}, status=429)
    key = _idempotency_key(request, lead_id=lead.pk if lead else None, row_id=row.pk if row else None, slot=slot)
    try:
        checkout = checkout_start(lead=lead, scheduled_email=row, idempotency_key=key,
                                           customer_email=email, lead_verified=lead_verified)
    except stripe.StripeError as exc:
        logger.warning("checkout session not created: %s: %s", type(exc).__name__, exc)
        if not stripe_key_reusable(exc):
            _idempotency_key_forget(request, slot)
        # 200, not 503: Django's session middleware drops the session (and its cookie) on a 5xx answer, and after
        # a timeout the "Try again" must carry the same nonce so Stripe replays rather than creates a second one.
        return render(request, "funnel/checkout/error.html",
                      {"reason": "stripe", "retry_url": request.path, "retry_by_post": retry_by_post})
    _remember_checkout(request, checkout.stripe_session_id)
    return HttpResponseRedirect(checkout.url, status=303)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def upgrade(request: HttpRequest, token: str) -> HttpResponse:
    """The upgrade link in every reminder. GET shows one button; only its POST starts Stripe Checkout.

    Mailbox scanners (Safe Links and the like) GET every link in a message: a GET must not open a Checkout
    Session (a Stripe call, the per-IP checkout limit, and an "order waiting" email when it expires).
    """
    lead, row_id = upgrade_link_read(token)
    if lead is None or not lead.email:
        return render(request, "funnel/checkout/link_invalid.html", status=404)
    if lead.is_customer:
        # Never sold twice, and the link itself never signs in (reusable, forwardable): its one button mails a
        # sign-in link to the buyer's own address. A GET (or a mail scanner) sends nothing.
        if request.method != "POST":
            return render(request, "funnel/checkout/upgrade_owned.html")
        signin_mail_to_buyer(email=lead.email, step="signin")
        return render(request, "funnel/checkout/signin_sent.html")
    if request.method != "POST":
        return render(request, "funnel/checkout/upgrade.html", {"email": lead.email})
    row = lead_email_row(lead=lead, row_id=row_id)
    if row is not None:
        # Scanners do not press buttons: a reader who opened the email the moment it arrived is a person after all.
        click_confirm_human(lead_id=lead.pk, row_id=row.pk, target=Click.Target.UPGRADE, at=timezone.now())
    # The token came in mail sent to this address, so the success page may sign this browser in.
    return _start_and_redirect(request, lead=lead, row=row, email=lead.email, lead_verified=True,
                               slot=f"{lead.pk}:{row.pk if row else ''}", retry_by_post=True)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def buy(request: HttpRequest) -> HttpResponse:
    """The buy button for visitors without an email link. The address they type is not proven to be theirs,
    so this browser is never signed in by the purchase: access always arrives by email."""
    signed_in = access_signed_in_lead(request)
    if signed_in is not None:
        if signed_in.is_customer:
            return HttpResponseRedirect(reverse("full-guide"))
        return HttpResponseRedirect(reverse("upgrade", args=[
            upgrade_token(lead_id=signed_in.pk, email_row_id=None)]))
    form = OptionalEmailForm(request.POST or None)
    if request.method != "POST" or not form.is_valid():
        return render(request, "funnel/checkout/buy.html", {"form": form}, status=400 if form.errors else 200)
    email = normalised_email(form.cleaned_data["email"])
    # An address that already bought gets a sign-in link by mail, yet the answer here is the same checkout as
    # for anyone: a different page would tell whoever types an address whether its owner bought (a health
    # product). Only the mailbox learns it; a payment made anyway is refunded automatically on fulfilment.
    signin_mail_to_buyer(email=email, step="already-yours")
    slot = "anon:" + hashlib.sha256(email.encode()).hexdigest()[:16]
    return _start_and_redirect(request, lead=None, row=None, email=email, lead_verified=False, slot=slot)


@never_cache
def success(request: HttpRequest) -> HttpResponse:
    """Stripe's return page. Fulfils (the webhook may be late) and signs in only the browser that started this
    checkout from an email link; everyone else gets the same "check your email" page, whatever the id."""
    session_id = request.GET.get("session_id", "")[:255]
    state = "check-email"
    if session_id and session_id in request.session.get(SESSION_CHECKOUT_IDS, []):
        returned = checkout_return(session_id=session_id)
        if not returned.fulfilled:
            state = "processing"
        elif returned.sign_in is not None:
            access_login(request, lead=returned.sign_in)
            state = "signed-in"
    context = {"state": state, "full_guide_url": reverse("full-guide"),
               "simulator_url": reverse("checkout-simulator", args=[session_id])
               if state == "processing" and simulator_enabled() else ""}
    return render(request, "funnel/checkout/success.html", context)


def cancel(request: HttpRequest) -> HttpResponse:
    return render(request, "funnel/checkout/cancel.html")


# --- Development checkout simulator ---------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def checkout_simulator(request: HttpRequest, session_id: str) -> HttpResponse:
    session = simulator_actions.simulated_session(session_id) if simulator_enabled() else None
    if session is None:
        raise Http404
    form = EmailForm(request.POST or None, initial={"email": session.get("customer_email") or ""})
    if request.method != "POST":
        return _simulator_page(request, session, form)
    action = request.POST.get("action", "")
    if not simulator_actions.action_possible(session, action):
        return HttpResponse("That step is not possible in this session's state.", status=409)
    email = session.get("customer_email") or ""
    if action in simulator_actions.PAY_ACTIONS and not email:
        if not form.is_valid():
            return _simulator_page(request, session, form, status=400)
        email = normalised_email(form.cleaned_data["email"])
    next_path = simulator_actions.simulated_action(session_id, session, action=action, email=email)
    return HttpResponseRedirect(next_path or request.path, status=303)


def _simulator_page(request: HttpRequest, session: dict[str, Any], form: forms.Form, status: int = 200) -> HttpResponse:
    shown_email = session.get("customer_email") or (session.get("customer_details") or {}).get("email") or ""
    amount = f"{(session.get('amount_total') or 0) / 100:.2f} {str(session.get('currency') or '').upper()}"
    return render(request, "funnel/checkout/simulator.html",
                  {"session": session, "form": form, "shown_email": shown_email, "amount": amount}, status=status)


# --- Buyer sign-in ----------------------------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signin_request(request: HttpRequest) -> HttpResponse:
    """"Send me a sign-in link": the same answer whether or not the address belongs to a buyer."""
    # A buyer's emails link here with their address signed in `for`: prefilled, one press sends the link.
    form = EmailForm(request.POST or None, initial={"email": signin_hint_read(request.GET.get("for", ""))})
    if request.method != "POST" or not form.is_valid():
        return render(request, "funnel/checkout/signin_request.html", {"form": form},
                      status=400 if form.errors else 200)
    if rate_limit_hit(scope="signin", ip=client_ip(request), rate=settings.SIGNIN_RATE_LIMIT):
        return render(request, "funnel/checkout/signin_request.html", {"form": form, "limited": True}, status=429)
    signin_mail_to_buyer(email=form.cleaned_data["email"], step="signin")
    return render(request, "funnel/checkout/signin_sent.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def signin_magic(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button: mail scanners that fetch links must not use them up. POST signs in."""
    lead = signin_token_buyer(token)
    if lead is None:
        return render(request, "funnel/checkout/signin_magic.html", {"valid": False}, status=400)
    if request.method != "POST":
        return render(request, "funnel/checkout/signin_magic.html", {"valid": True})
    if signin_link_use(request, token=token) is None:
        return render(request, "funnel/checkout/signin_magic.html", {"valid": False}, status=400)
    return HttpResponseRedirect(reverse("full-guide"), status=303)


@require_POST  # a link could sign people out from another site's <img>; a form with a CSRF token cannot
def signout(request: HttpRequest) -> HttpResponse:
    """End this browser's session (a shared computer); other browsers stay signed in."""
    access_logout(request)
    return HttpResponseRedirect(reverse("landing"))
