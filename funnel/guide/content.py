"""The full guide as data: the three steps, the six areas, the tools, the mistakes and the plans.

One source for the guide pages, the daily-session app (which spots to press, which stretches to time) and the
reminder emails (what today's plan day is about), so a change to a hold time or a stretch shows up everywhere.
Templates decide how it looks; nothing here is HTML.
"""

from dataclasses import dataclass

# The protocol's timings, used by the guide text, the app's timers and the form validation alike.
HOLD_MIN_SECONDS = 30
HOLD_MAX_SECONDS = 90
HEAT_MIN_MINUTES = 15
HEAT_MAX_MINUTES = 20
RELEASE_MINUTES = 5  # about, all spots together
STRETCH_MINUTES = 5  # about, the whole sequence
# The whole routine, from its three steps: the one figure every page, the guide, the app and the emails state
# (templates print it with {% routine_minutes %}, config/template_constants.py).
ROUTINE_MIN_MINUTES = RELEASE_MINUTES + HEAT_MIN_MINUTES + STRETCH_MINUTES
ROUTINE_MAX_MINUTES = RELEASE_MINUTES + HEAT_MAX_MINUTES + STRETCH_MINUTES
ROUTINE_MINUTES = f"{ROUTINE_MIN_MINUTES}–{ROUTINE_MAX_MINUTES}"


@dataclass(frozen=True)
class ReleaseSpot:
    slug: str
    name: str
    where: str
    how: str


@dataclass(frozen=True)
class Stretch:
    slug: str
    name: str
    how: str
    seconds: int  # per side when `each_side`
    each_side: bool = True

    @property
    def total_seconds(self) -> int:
        return self.seconds * (2 if self.each_side else 1)


@dataclass(frozen=True)
class Origin:
    muscle: str
    why: str


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    short: str  # a few words for buttons and emails: "low back"
    summary: str
    origins: tuple[Origin, ...]
    spots: tuple[ReleaseSpot, ...]
    heat: str
    stretches: tuple[Stretch, ...]


@dataclass(frozen=True)
class ProtocolStep:
    slug: str
    number: int
    name: str
    timing: str
    purpose: str
    how: tuple[str, ...]
    cautions: tuple[str, ...]


@dataclass(frozen=True)
class Tool:
    name: str
    use: str


@dataclass(frozen=True)
class ToolGroup:
    slug: str
    name: str
    recommended: tuple[Tool, ...]
    avoid: tuple[Tool, ...]


@dataclass(frozen=True)
class Mistake:
    number: int
    title: str
    what_happens: str
    instead: str


@dataclass(frozen=True)
class PlanDay:
    number: int
    area_slug: str  # "" on day 7: the whole routine on the area that bothers you most
    title: str
    focus: str
    tip: str


@dataclass(frozen=True)
class PlanWeek:
    weeks: str
    title: str
    goal: str
    how: tuple[str, ...]


PROTOCOL: tuple[ProtocolStep, ...] = (
    ProtocolStep(
        slug="release",
        number=1,
        name="Release",
        timing=f"{HOLD_MIN_SECONDS}–{HOLD_MAX_SECONDS} seconds per spot, about {RELEASE_MINUTES} minutes in all",
        purpose=(
            "A muscle that has been short and guarded for weeks develops tender, ropy spots that send pain "
            "somewhere else. Steady pressure on such a spot lets the muscle stop guarding, which is what makes "
            "the next two steps work."
        ),
        how=(
            "Stand with your back (or side) to a wall and place a tennis ball between the wall and the muscle.",
            "Roll slowly until you find a spot that is clearly more tender than the tissue around it, often one "
            "that makes the familiar ache show up somewhere else. That is a hypertonic spot.",
            "Lean into the ball with your body weight only. Aim for a discomfort of about 5 or 6 out of 10: "
            "pressure you can breathe through, never a pain that makes you hold your breath.",
            f"Stay still and breathe slowly for {HOLD_MIN_SECONDS} to {HOLD_MAX_SECONDS} seconds. You are waiting "
            "for the spot to soften: the tenderness fades or the knot seems to melt under the ball.",
            "When it softens, ease off slowly and move to the next spot. If nothing changes after 90 seconds, "
            "leave it for today; pressing longer or harder does not help.",
        ),
        cautions=(
            "Skip the ball over bone, the spine itself, the front and sides of the neck, and any bruise, "
            "varicose vein or recent injury.",
            "Sharp, electric or spreading pain means stop and move the ball off that spot.",
        ),
    ),
    ProtocolStep(
        slug="heat",
        number=2,
        name="Moist heat",
        timing=f"{HEAT_MIN_MINUTES}–{HEAT_MAX_MINUTES} minutes, straight after the release",
        purpose=(
            "Right after a release the muscle is receptive. Moist heat reaches deeper than dry heat and keeps "
            "blood flowing through the tissue while it settles at its new, easier tone, so the release lasts."
        ),
        how=(
            "Damp towel method: wet a hand towel, wring it until it stops dripping, fold it, warm it in the "
            "microwave for 30–60 seconds and wrap it in a dry towel. Rewarm it when it cools.",
            "Moist heat pack: a microwavable grain or gel pack placed over a damp cloth, or an electric moist "
            "heat pad made to draw moisture from the air.",
            "A warm bath or shower aimed at the area also counts when a pack is not practical.",
            "Lie or sit comfortably with the heat over the area you released, not only where it hurts.",
            f"Keep it there for {HEAT_MIN_MINUTES} to {HEAT_MAX_MINUTES} minutes. Set a timer and rest; this "
            "step is meant to be quiet.",
        ),
        cautions=(
            "Test the temperature on your inner forearm first: warm and comfortable, never hot.",
            "Look at your skin every 5 minutes. Bright red or blotchy skin means take the heat away.",
            "No heat on a fresh injury (the first 48–72 hours, or anything swollen), on numb skin, or over "
            "broken skin. Do not fall asleep on a heating pad.",
            "Ask your doctor first if you have diabetes, poor circulation or reduced skin sensation.",
        ),
    ),
    ProtocolStep(
        slug="stretch",
        number=3,
        name="Stretch",
        timing=f"About {STRETCH_MINUTES} minutes, right after the heat",
        purpose=(
            "The warm, released muscle can now lengthen without a fight. Slow stretches through the full range "
            "show the nervous system a longer resting length; repeated daily, that becomes the new normal."
        ),
        how=(
            "Move into each stretch slowly until you feel a gentle pull, not pain.",
            "Hold it and breathe out slowly; on each out-breath let yourself sink a little further.",
            "Hold each stretch 30 seconds per side (the app times it for you), then come out of it as slowly "
            "as you went in.",
            "Work through the whole range: the aim is easy movement, not a dramatic position.",
        ),
        cautions=(
            "No bouncing and no forcing. A stretch that makes a muscle twitch or grip is too far.",
            "Tingling, numbness or pain shooting down an arm or leg means stop that stretch.",
        ),
    ),
)

STEP_ORDER_WHY = (
    "Stretching a muscle that is still guarding makes it tighten further; heat without a release "
    "first only warms the surface of the problem; and a release with no heat after it tends to tighten back up "
    "within hours. Release, then heat, then stretch."
)


AREAS: tuple[Area, ...] = (
    Area(
        slug="low-back",
        name="Lower back",
        short="low back",
        summary=(
            "Most everyday lower back pain is muscular, and much of it comes from muscles that attach near the "
            "lumbar spine rather than from the spine itself."
        ),
        origins=(
            Origin("Quadratus lumborum (QL)",
                   "runs from the lowest rib to the top of the pelvis; when short it hitches the hip and aches "
                   "deep beside the spine, often worse when standing up."),
            Origin("Hip flexors (psoas and iliacus)",
                   "shortened by long hours sitting, they pull the lumbar spine forward and the low back "
                   "takes the strain."),
            Origin("Piriformis and glutes",
                   "tight deep hip muscles change how the pelvis moves and refer an ache into the low back."),
        ),
        spots=(
            ReleaseSpot("ql", "QL, beside the spine",
                        "In the soft band between your lowest rib and the top of your hip bone, a hand's width "
                        "out from the spine.",
                        "Back to the wall, ball on one side of the spine (never on it); bend your knees slightly "
                        "to lower onto the spot."),
            ReleaseSpot("glute-upper", "Upper glute",
                        "Just below the rim of the pelvis at the back, toward the outside of the hip.",
                        "Lean back into the wall and shift your weight toward the side you are working."),
        ),
        heat=(
            "Lie on your front or side with the moist heat across the lower back from the lowest ribs to the top "
            "of the pelvis, covering both sides."
        ),
        stretches=(
            Stretch("knees-to-chest", "Knees to chest",
                    "Lying on your back, draw both knees toward your chest and let your low back round into the "
                    "floor.", 30, each_side=False),
            Stretch("side-bend", "Standing side bend",
                    "Feet hip-width, reach one arm overhead and lean the other way until you feel the side of "
                    "your waist open.", 30),
            Stretch("childs-pose", "Child's pose",
                    "Kneel, sit back toward your heels and walk your hands forward; breathe into your low back.",
                    30, each_side=False),
        ),
    ),
    Area(
        slug="hips",
        name="Hips",
        short="hips",
        summary=(
            "Stiff, achy hips and a back that will not straighten after sitting usually point to the hip flexors "
            "at the front and the muscles on the outside of the hip."
        ),
        origins=(
            Origin("Hip flexors (psoas, iliacus, rectus femoris)",
                   "kept short by sitting; they tug on the pelvis and the lumbar spine when you stand."),
            Origin("Tensor fasciae latae (TFL)",
                   "a small muscle at the front-outside of the hip that tightens when the glutes are weak."),
            Origin("Gluteus medius",
                   "on the side of the hip; tender spots here ache over the hip and down the outer thigh."),
        ),
        spots=(
            ReleaseSpot("hip-flexor", "Hip flexor, front of hip",
                        "Two finger-widths inside and below the bony point at the front of your pelvis.",
                        "Face the wall (or lie face down) with the ball just inside the hip bone and let your "
                        "weight settle slowly; keep it off the crease of the groin."),
            ReleaseSpot("tfl", "TFL, front-outside of hip",
                        "Just below and outside the bony point at the front of the pelvis, where a trouser "
                        "pocket sits.",
                        "Stand side-on to the wall with the ball on the front-outside of the hip and lean in."),
            ReleaseSpot("glute-med", "Side of hip (gluteus medius)",
                        "Between the top of the pelvis and the bony knob on the side of the thigh.",
                        "Side-on to the wall, ball on the side of the hip; bend the knees to roll up and down."),
        ),
        heat="Lie on your back with the moist heat over the front of the hip and the crease at the top of the thigh.",
        stretches=(
            Stretch("kneeling-lunge", "Kneeling hip-flexor lunge",
                    "Kneel on one knee (on a cushion), the other foot forward. Tuck your tailbone under and shift "
                    "forward until the front of the back hip opens.", 30),
            Stretch("figure-four", "Figure four",
                    "On your back, cross one ankle over the other knee and draw the lower leg toward you.", 30),
        ),
    ),
    Area(
        slug="glutes",
        name="Glutes and piriformis",
        short="glutes",
        summary=(
            "A deep ache in the buttock, sometimes running down the back of the thigh, often comes from the "
            "piriformis and the glutes, which can irritate the sciatic nerve that runs beside them."
        ),
        origins=(
            Origin("Piriformis",
                   "a small deep muscle from the sacrum to the top of the thigh bone; when locked it presses on "
                   "the sciatic nerve and aches in the buttock and back of the leg."),
            Origin("Gluteus maximus and medius",
                   "tender spots here refer pain to the low back, the tailbone and the side of the hip."),
        ),
        spots=(
            ReleaseSpot("piriformis", "Piriformis, centre of the buttock",
                        "Halfway between the base of the spine (sacrum) and the bony knob on the side of the thigh.",
                        "Back to the wall, ball in the middle of one buttock; cross that ankle over the other "
                        "knee if you can balance, to reach deeper."),
            ReleaseSpot("glute-max", "Gluteus maximus, lower buttock",
                        "The fleshy part of the buttock, above the crease with the thigh.",
                        "Lean back into the wall and shift slowly side to side until you find the tender spot."),
        ),
        heat="Lie on your side or front with the moist heat over the buttock and the outside of the hip.",
        stretches=(
            Stretch("piriformis-stretch", "Piriformis stretch",
                    "On your back, cross one ankle over the other knee, then pull the lower knee toward the "
                    "opposite shoulder.", 30),
            Stretch("seated-twist", "Seated twist",
                    "Sitting tall, cross one foot over the other knee and turn toward the bent knee, hugging it.",
                    30),
        ),
    ),
    Area(
        slug="neck",
        name="Neck",
        short="neck",
        summary=(
            "A stiff neck and headaches at the base of the skull usually come from the muscles that hold the head "
            "up all day, especially when it drifts forward toward a screen."
        ),
        origins=(
            Origin("Sub-occipitals",
                   "tiny muscles at the base of the skull; when tight they cause headaches behind the eyes and "
                   "around the back of the head."),
            Origin("Upper trapezius",
                   "from the neck to the tip of the shoulder; it refers pain up the side of the neck to the "
                   "temple."),
            Origin("Levator scapulae",
                   "from the upper neck to the shoulder blade; it makes turning the head painful."),
        ),
        spots=(
            ReleaseSpot("suboccipitals", "Sub-occipitals, base of the skull",
                        "In the hollow just under the bony ridge at the back of the head, either side of the middle.",
                        "Lie on your back with the ball (or two balls in a sock) under the ridge and let the "
                        "weight of your head do the work. Never press on the front or sides of the neck."),
            ReleaseSpot("upper-trap", "Upper trapezius, top of the shoulder",
                        "The thick muscle halfway between the neck and the tip of the shoulder.",
                        "Stand with your back to the wall, ball on top-back of the shoulder, and bend the knees "
                        "slightly to lean into it."),
            ReleaseSpot("levator", "Levator scapulae",
                        "Just above the inner top corner of the shoulder blade.",
                        "Back to the wall, ball at the top inner corner of the shoulder blade; turn your head "
                        "slowly away from that side."),
        ),
        heat="Sit or lie with the moist heat wrapped around the back of the neck and across the tops of the shoulders.",
        stretches=(
            Stretch("chin-tuck", "Chin tuck",
                    "Sitting tall, slide your chin straight back (a gentle double chin) and feel the base of "
                    "the skull lengthen.", 30, each_side=False),
            Stretch("ear-to-shoulder", "Ear toward shoulder",
                    "Let one ear drop toward the same shoulder while the other shoulder stays down.", 30),
            Stretch("levator-stretch", "Nose toward armpit",
                    "Turn your head 45° toward one armpit and let it drop forward gently.", 30),
        ),
    ),
    Area(
        slug="shoulders",
        name="Shoulders and upper traps",
        short="shoulders",
        summary=(
            "Shoulders that creep up toward the ears, and an ache across the top of the shoulders and between "
            "them, come from muscles that never get to switch off at a desk or behind the wheel."
        ),
        origins=(
            Origin("Upper trapezius", "holds the shoulders up under stress and refers pain into the neck and head."),
            Origin("Infraspinatus", "on the shoulder blade; tender spots here ache deep in the front of the shoulder."),
            Origin("Pectorals", "tight chest muscles round the shoulders forward and overload the back of them."),
        ),
        spots=(
            ReleaseSpot("upper-trap", "Upper trapezius, top of the shoulder",
                        "The thick muscle halfway between the neck and the tip of the shoulder.",
                        "Back to the wall, ball on top-back of the shoulder, bend the knees slightly to lean in."),
            ReleaseSpot("infraspinatus", "Infraspinatus, on the shoulder blade",
                        "The flat middle of the shoulder blade.",
                        "Back to the wall, ball on the shoulder blade; let your arm hang and lean in."),
            ReleaseSpot("pec", "Chest, below the collarbone",
                        "Below the outer third of the collarbone, toward the front of the shoulder.",
                        "Face a doorframe or wall with the ball below the collarbone and lean in gently."),
        ),
        heat=("Sit with the moist heat draped over the tops of both shoulders, reaching down between the "
              "shoulder blades."),
        stretches=(
            Stretch("doorway-chest", "Doorway chest stretch",
                    "Forearms on a doorframe at shoulder height, step through until the chest opens.", 30,
                    each_side=False),
            Stretch("cross-body", "Cross-body arm",
                    "Bring one arm across your chest and hold it with the other forearm.", 30),
            Stretch("shoulder-rolls", "Slow shoulder rolls",
                    "Roll the shoulders up, back and down in big slow circles.", 30, each_side=False),
        ),
    ),
    Area(
        slug="mid-back",
        name="Mid back",
        short="mid back",
        summary=(
            "A burning or aching band between the shoulder blades is common with long days of sitting and "
            "reaching forward; the muscles there are overstretched and tender rather than short."
        ),
        origins=(
            Origin("Rhomboids and middle trapezius",
                   "between the shoulder blades; they ache when the shoulders round forward all day."),
            Origin("Thoracic paraspinals",
                   "the long muscles beside the mid spine, which stiffen when the upper back stays bent."),
            Origin("Pectorals", "tight chest muscles pull the shoulders forward and keep the mid back on stretch."),
        ),
        spots=(
            ReleaseSpot("rhomboid", "Between the shoulder blades",
                        "Between the inner edge of the shoulder blade and the spine.",
                        "Back to the wall, cross your arms over your chest to move the blades apart, ball beside "
                        "(never on) the spine."),
            ReleaseSpot("thoracic-paraspinal", "Beside the mid spine",
                        "A thumb's width either side of the spine at bra-strap height.",
                        "Back to the wall, bend and straighten the knees slowly to find the spot, then hold."),
        ),
        heat=("Lie on your front with the moist heat across the upper and mid back, between and over the "
              "shoulder blades."),
        stretches=(
            Stretch("thread-needle", "Thread the needle",
                    "On hands and knees, slide one arm under the other and rest the shoulder and cheek down.", 30),
            Stretch("open-book", "Open book",
                    "Lie on your side with knees bent, arms out in front; open the top arm across to the other "
                    "side, following it with your eyes.", 30),
            Stretch("cat-cow", "Cat–cow",
                    "On hands and knees, slowly round the back up then let it sink, moving with your breath.",
                    30, each_side=False),
        ),
    ),
)

AREAS_BY_SLUG: dict[str, Area] = {area.slug: area for area in AREAS}


def spots_for(area_slugs: list[str]) -> list[ReleaseSpot]:
    """The release spots for the chosen areas, in order, each spot once (neck and shoulders share one)."""
    seen: dict[str, ReleaseSpot] = {}
    for slug in area_slugs:
        for spot in AREAS_BY_SLUG[slug].spots:
            seen.setdefault(spot.slug, spot)
    return list(seen.values())


def stretches_for(area_slugs: list[str]) -> list[Stretch]:
    seen: dict[str, Stretch] = {}
    for slug in area_slugs:
        for stretch in AREAS_BY_SLUG[slug].stretches:
            seen.setdefault(stretch.slug, stretch)
    return list(seen.values())


TOOLS: tuple[ToolGroup, ...] = (
    ToolGroup(
        slug="balls",
        name="For the release",
        recommended=(
            Tool("Tennis ball", "The place to start: soft enough for tender spots, the neck and the hips."),
            Tool("Lacrosse ball", "Firmer, for the glutes and upper back once a tennis ball feels too soft."),
            Tool("Two tennis balls taped together or in a sock",
                 "Sits either side of the spine or under the base of the skull without pressing on bone."),
        ),
        avoid=(
            Tool("Golf balls and other small, hard balls", "Too pointed for anything but the soles of the feet."),
            Tool("Percussion guns on the neck or over the spine", "Too forceful for these areas; they can bruise."),
            Tool("Lying on a hard ball on the floor at first",
                 "The wall lets you control the pressure; the floor puts your whole weight on the spot."),
        ),
    ),
    ToolGroup(
        slug="heat",
        name="For the moist heat",
        recommended=(
            Tool("Damp towel warmed in the microwave, wrapped in a dry towel", "Free, and moist by design."),
            Tool("Microwavable grain or gel pack over a damp cloth", "Holds heat longer than a towel."),
            Tool("Electric moist heat pad", "Draws moisture from the air; convenient for a daily routine."),
            Tool("Warm bath or shower", "Fine when a pack is not practical, especially for the back."),
        ),
        avoid=(
            Tool("Dry electric heating pads on their own", "They warm the surface and dry the skin; add a damp "
                 "cloth or choose a moist pad."),
            Tool("Adhesive heat patches", "Mild dry heat, and they stay on too long for this step."),
            Tool("Anything too hot to hold against your forearm", "Burns happen below the pain threshold when "
                 "you are relaxed."),
        ),
    ),
    ToolGroup(
        slug="stretch",
        name="For the stretches",
        recommended=(
            Tool("A mat or rug", "Kneeling and lying stretches are easier on a soft surface."),
            Tool("A cushion or folded towel", "Under the knee for the kneeling lunge, under the head lying down."),
            Tool("A strap or belt", "Lets you reach a foot without straining the back."),
        ),
        avoid=(
            Tool("Bouncing or a partner pushing you", "Forced range triggers the guarding you just released."),
        ),
    ),
)


MISTAKES: tuple[Mistake, ...] = (
    Mistake(1, "Stretching first",
            "A muscle in protective spasm treats a pull as a threat and tightens further, so stretching alone "
            "can leave you stiffer than before.",
            "Release, then heat, then stretch, every time."),
    Mistake(2, "Using dry heat",
            "A dry pad warms the skin but not the tissue underneath, so the relief fades in a few hours.",
            f"Use moist heat for the full {HEAT_MIN_MINUTES}–{HEAT_MAX_MINUTES} minutes."),
    Mistake(3, "Working only where it hurts",
            "Pain is often referred: the low back aches because of the hips and QL, the neck because of the "
            "upper traps and the base of the skull. Pressing only the sore spot misses the cause.",
            "Follow the area pages to the muscles where the pain starts."),
    Mistake(4, "Pressing too hard or too long",
            "Crushing a spot makes the muscle defend itself; grinding past 90 seconds irritates it.",
            "Body weight, a 5–6 out of 10, 30–90 seconds, then move on."),
    Mistake(5, "Doing it now and then",
            "One session shows the method works but does not change a pattern that took years to build.",
            "Do it daily: seven days start the shift, thirty days make it stick."),
)


PLAN_7_DAYS: tuple[PlanDay, ...] = (
    PlanDay(1, "low-back", "Lower back: the QL",
            "Release the QL beside the spine and the upper glute, heat across the low back, then the stretches.",
            "Take it slowly today: you are learning how much pressure is enough."),
    PlanDay(2, "hips", "Hips: the hip flexors",
            "Release the front of the hip, then heat and the kneeling lunge.",
            "If you sit a lot, this is often the day people feel the biggest change in their low back."),
    PlanDay(3, "glutes", "Glutes and piriformis",
            "Release the centre of the buttock and the lower glute, heat, then the piriformis stretch.",
            "A tennis ball may now feel too soft here; try a lacrosse ball if so."),
    PlanDay(4, "neck", "Neck: the sub-occipitals",
            "Release the base of the skull lying down, heat around the neck, then chin tucks.",
            "Let the weight of your head do the work; no pushing."),
    PlanDay(5, "shoulders", "Shoulders and upper traps",
            "Release the tops of the shoulders and the shoulder blade, heat, then open the chest.",
            "Notice whether your shoulders creep up during the day; let them drop."),
    PlanDay(6, "mid-back", "Mid back",
            "Release between the shoulder blades, heat the upper back, then thread the needle and open book.",
            "Cross your arms over your chest to reach between the shoulder blades."),
    PlanDay(7, "", "Your worst area, the whole routine",
            "Pick the area that bothers you most and do the complete routine on it, unhurried.",
            "Compare today's pain before and after with day 1: that is your baseline starting to shift."),
)


PLAN_30_DAYS: tuple[PlanWeek, ...] = (
    PlanWeek("Week 1", "Learn the routine", "One area a day, following the 7-day plan.",
             ("Log pain before and after each session.", "Learn where your tender spots are and how much pressure "
              "each needs.")),
    PlanWeek("Week 2", "Focus on your two worst areas",
             "Alternate the two areas that scored highest in week 1, one per day.",
             ("Keep the order: release, heat, stretch.", "If an area's pain before drops below 3 for three days, "
              "swap in the next one.")),
    PlanWeek("Week 3", "Go to the source",
             "Add the origin areas: low back with hips and glutes, neck with shoulders.",
             ("Two areas in one session: release both, heat both (one after the other if you have one pack), then "
              "all the stretches.", "Hold stretches a little longer (45 seconds) if they feel easy.")),
    PlanWeek("Week 4", "Make it stick",
             "Daily routine on whatever bothers you that morning, then a shorter maintenance routine.",
             ("Look at your 30-day chart: most people see the pain before each session trend down.",
              "After day 30, three to four sessions a week usually keeps the new baseline; go back to daily "
              "after a flare-up.")),
)


PHYSICIAN_RED_FLAGS: tuple[str, ...] = (
    "numbness, tingling or pins and needles, especially if it spreads down an arm or leg",
    "weakness in an arm or leg, or a foot that drags",
    "loss of bladder or bowel control, or numbness around the groin",
    "fever, or feeling generally unwell, along with the pain",
    "pain after a fall, a car accident or another injury",
    "pain at night that does not ease when you change position",
)


def plan_day(number: int) -> PlanDay:
    """Plan day 1–7 (days past 7 repeat day 7: the whole routine on your worst area)."""
    return PLAN_7_DAYS[min(max(number, 1), len(PLAN_7_DAYS)) - 1]
