"""The free quick reference: one printable page with the daily protocol, six pain areas and five mistakes.

Public (it is what the signup promises, and the welcome email links here). The content is data so the
template stays a layout; written in our own words from the product facts and neuromuscular-therapy basics.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from funnel.guide.content import HEAT_MAX_MINUTES, HEAT_MIN_MINUTES, RELEASE_MINUTES, STRETCH_MINUTES


@dataclass(frozen=True)
class Step:
    name: str
    minutes: str
    how: str
    why: str


@dataclass(frozen=True)
class PainArea:
    felt: str
    source: str
    press: str


@dataclass(frozen=True)
class Mistake:
    title: str
    fix: str


DAILY_PROTOCOL = (
    Step("Release", f"about {RELEASE_MINUTES} min",
         "Lean into a tennis or lacrosse ball against a wall, right on the tender knot. Let body weight do the work "
         "— slow and steady, never hard — and stay there 30–90 seconds until the spot eases.",
         "A knotted muscle keeps sending pain elsewhere; pressure lets it let go."),
    Step("Moist heat", f"{HEAT_MIN_MINUTES}–{HEAT_MAX_MINUTES} min",
         "Straight after the release, put a damp, warm towel or a moist heat pack on the same area and rest.",
         "Moist heat reaches deep into the muscle and brings blood flow while it is still relaxed. Skip it and "
         "the muscle tends to tighten again within hours."),
    Step("Stretch", f"about {STRETCH_MINUTES} min",
         "Now move slowly through the full range, holding each gentle stretch without bouncing.",
         "A warm, released muscle can learn a longer resting length; a cold, guarded one just fights back."),
)

PAIN_AREAS = (
    PainArea("Lower back", "Hip flexors (psoas) and the quadratus lumborum (QL) beside the spine",
             "Ball just above the hip bone, beside the spine"),
    PainArea("Hip and buttock, pain down the leg", "Piriformis and the deep gluteal muscles",
             "Ball in the middle of the buttock, against a wall"),
    PainArea("Front of the hip and groin", "Tight hip flexors from long hours of sitting",
             "Gentle pressure just inside the hip bone, then a kneeling lunge stretch"),
    PainArea("Neck and headaches at the base of the skull", "Sub-occipitals and upper trapezius",
             "Two balls in a sock under the skull while lying down"),
    PainArea("Between the shoulder blades", "Rhomboids and mid trapezius, often overworked by a forward "
             "head posture", "Ball between spine and shoulder blade, against a wall"),
    PainArea("Top of the shoulder", "Upper trapezius and levator scapulae, loaded by desk work and stress",
             "Ball on the ridge between neck and shoulder, leaning into a door frame"),
)

FIVE_MISTAKES = (
    Mistake("Stretching a muscle that is still in spasm",
            "Release first, then heat, then stretch. Pulling on a guarded muscle makes it clamp down harder."),
    Mistake("Using a dry heating pad",
            "Use moist heat. Dry heat warms the skin; moist heat gets into the muscle where the knot is."),
    Mistake("Working only where it hurts",
            "Treat where the pain starts: the hips for the low back, the base of the skull for the neck."),
    Mistake("Pressing too hard and too fast",
            "Slow body-weight pressure for 30–90 seconds. Pain that makes you hold your breath is too much."),
    Mistake("Doing it once and stopping",
            "One session shows that it works; seven days in a row start to change the pattern, thirty change it."),
)

RED_FLAGS = (
    "numbness or tingling that spreads, especially in the groin or inner thighs",
    "weakness in a leg, foot or arm",
    "loss of bladder or bowel control",
    "fever, or feeling generally unwell along with the pain",
    "pain that began after a fall, an accident or a blow",
    "pain at night that does not ease when you rest or change position",
)


@require_http_methods(["GET", "HEAD"])
def free_guide(request: HttpRequest) -> HttpResponse:
    return render(request, "funnel/guide/free.html", {
        "protocol": DAILY_PROTOCOL, "areas": PAIN_AREAS, "mistakes": FIVE_MISTAKES, "red_flags": RED_FLAGS,
        "welcome": request.GET.get("welcome") == "1", "buy_url": reverse("buy"),
    })
