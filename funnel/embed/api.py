"""`POST /api/v1/signups` for other sites (django-ninja; the schema at /api/v1/openapi.json).

The same answer (202) for a new, a pending, a subscribed and an unsubscribed address: what happens next is the
landing form's (signup_submit: a confirmation email where one is due, nothing for a subscriber), so nobody can use
the API to learn who is on the list. CORS (django-cors-headers, /api/ only) lets only SIGNUP_ALLOWED_ORIGINS read
the answer in a browser; a request that names another Origin is refused here too, since a browser sends a simple
cross-site POST before CORS can stop it. A call with no Origin (a server) is admitted: it is held by the same
per-IP rate limit, the consent flag and double opt-in as a reader typing into our form.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema, Status
from ninja.errors import HttpError, ValidationError
from pydantic import Field, field_validator

from funnel.embed.intake import Outcome, external_signup_take
from funnel.embed.origins import origin_allowed, origin_of
from leads.consent import CONSENT_TEXT, CONSENT_VERSION
from leads.validation import EMAIL_MAX_LENGTH, FIRST_NAME_MAX_LENGTH

DESCRIPTION = f"""Sign a reader up for the free guide from another site.

The page that collects the address must show this consent text next to an unticked checkbox, and send
`consent: true` only when the reader ticked it (version {CONSENT_VERSION}):

> {CONSENT_TEXT}

The reader then gets our confirmation email (double opt-in); nothing else is sent until they confirm.
The answer is the same for every address, new or known."""

api = NinjaAPI(title="Pain Reset signups", version="1", description=DESCRIPTION, urls_namespace="api-v1",
               docs_url=None)  # no Swagger UI: it loads its script from a CDN, which our CSP refuses


class SignupIn(Schema):
    email: str = Field(max_length=EMAIL_MAX_LENGTH, json_schema_extra={"format": "email"},
                       description="The reader's address; checked by the signup form's rules.")
    first_name: str = Field("", description=f"Optional, up to {FIRST_NAME_MAX_LENGTH} characters.")
    time_zone: str = Field("", description="IANA name, e.g. Europe/Berlin; unknown or empty: our default.")
    # Strict: 1 or "yes" is not a reader ticking a box. `false` passes the type and is refused by the form's rule.
    consent: bool = Field(strict=True, json_schema_extra={"const": True},
                          description="true: the reader ticked the consent checkbox. Anything else is refused.")

    @field_validator("email", "first_name", "time_zone")
    @classmethod
    def _encodable(cls, value: str) -> str:
        # JSON can carry a lone surrogate ("\\ud800"), which no database column can store; a form post cannot.
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("Contains characters that are not text.")
        return value


class Accepted(Schema):
    status: str = Field(description='"accepted"')
    message: str


class FieldErrors(Schema):
    errors: dict[str, list[str]] = Field(description="Messages a person can act on, per field.")


class Problem(Schema):
    detail: str


@api.exception_handler(ValidationError)
def _field_errors(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Pydantic's errors (a missing field, a wrong type) in the same shape as the form's: field → messages."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        errors.setdefault(location[0] if location else "body", []).append(_message(error))
    return api.create_response(request, {"errors": errors}, status=422)


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "missing":
        return "This field is required."
    if error.get("loc", ())[-1:] == ("consent",):
        return "Send true (a JSON boolean) when the reader ticked the consent box."
    return str(error.get("msg", "Invalid value."))


@api.post("/signups", response={202: Accepted, 400: Problem, 403: Problem, 422: FieldErrors, 429: Problem},
          summary="Sign a reader up (double opt-in)")
def signups(request: HttpRequest, payload: SignupIn) -> Status[dict[str, Any]]:
    origin = origin_of(request.headers.get("Origin", ""))
    if request.headers.get("Origin") and not origin_allowed(origin):
        raise HttpError(403, "This site is not allowed to sign readers up (SIGNUP_ALLOWED_ORIGINS).")
    data = {"email": payload.email, "first_name": payload.first_name,
            "time_zone": payload.time_zone[:100], "consent": "on" if payload.consent else "",
            "consent_version": CONSENT_VERSION}
    # The consent record keeps the text the calling page had to show, and that it came through the API.
    consent_text = f"{CONSENT_TEXT}\n\n[Sent as consent=true to POST /api/v1/signups from {origin or 'a server'}.]"
    intake = external_signup_take(request=request, data=data, origin=origin, medium="api",
                                  consent_text=consent_text)
    if intake.outcome is Outcome.LIMITED:
        raise HttpError(429, "Too many signups from this address; try again later.")
    if intake.outcome is Outcome.INVALID:
        return Status(422, {"errors": {field: [str(m) for m in messages]
                                       for field, messages in intake.form.errors.items()}})
    return Status(202, {"status": "accepted", "message": "If the address can receive our mail, a confirmation email "
                        "is on its way; the reader confirms from it."})
