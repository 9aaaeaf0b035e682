"""The full guide's content lives in data files (funnel/guide/data/*.toml); the loader gives the pages, the app and
the emails the same structures the Python module did, and the copy keeps to the health-content rules."""

import dataclasses
import json
import re
from pathlib import Path

import pytest

from funnel.guide import content
from tests.guide.snapshot import SNAPSHOT, snapshot

DATA = Path(content.__file__).with_name("data")


def test_the_loaded_guide_is_the_snapshot_taken_from_the_python_module_it_replaced() -> None:
    # A deliberate copy change updates the snapshot (see tests/guide/snapshot.py); anything else is a loader bug.
    assert snapshot(content) == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_timings_are_written_once_and_filled_in_everywhere() -> None:
    release, heat, stretch = content.PROTOCOL
    assert release.timing == "30–90 seconds per spot, about 5 minutes in all"
    assert heat.timing == "15–20 minutes, straight after the release"
    assert stretch.timing == "About 5 minutes, right after the heat"
    assert content.ROUTINE_MINUTES == "25–30"
    every_text = json.dumps(snapshot(content), ensure_ascii=False)
    assert "{" not in every_text.replace('{"', "").replace("{}", "")  # no placeholder left unfilled


def test_the_structures_are_immutable_and_hashable_as_before() -> None:
    area = content.AREAS_BY_SLUG["neck"]
    assert isinstance(area.spots, tuple) and isinstance(content.PROTOCOL[0].how, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        area.name = "Changed"  # type: ignore[misc]
    assert len({*content.spots_for([a.slug for a in content.AREAS])}) == 14  # neck and shoulders share one


def test_a_plan_day_naming_an_unknown_area_is_refused_with_the_file_and_day() -> None:
    with pytest.raises(content.GuideContentError, match=r"plan-7-days.toml, day 3: unknown area 'knees'"):
        content._plan_day({"number": 3, "area": "knees", "title": "t", "focus": "f", "tip": "t"})


def test_a_misspelt_key_is_refused_with_the_file_and_entry() -> None:
    with pytest.raises(content.GuideContentError, match=r"areas.toml, area 'neck'.*'summery'"):
        content._area({"slug": "neck", "name": "Neck", "short": "neck", "summery": "typo", "heat": "h"})


def test_an_unknown_timing_name_is_refused() -> None:
    with pytest.raises(content.GuideContentError, match=r"protocol.toml: unknown timing 'hold_seconds'"):
        content._text("{hold_seconds} seconds", "protocol.toml")


# Claims about what readers experience, which the seed's facts do not back (brief, "Health content rules").
UNSUPPORTED = re.compile(r"\b(most people|many (readers|people)|people (feel|see|tell|say|find)|readers tell"
                         r"|usually keeps|guarantee|cure[sd]?\b|pain[- ]free|for good|never come back)", re.I)


@pytest.mark.parametrize("path", sorted(DATA.glob("*.toml")), ids=lambda p: p.name)
def test_the_copy_claims_no_results_the_seed_does_not_support(path: Path) -> None:
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#"))
    assert not UNSUPPORTED.findall(text)


def test_the_guide_says_when_to_see_a_physician() -> None:
    flags = " ".join(content.PHYSICIAN_RED_FLAGS)
    for sign in ("numbness", "weakness", "bladder or bowel", "fever", "after a fall", "at night",
                 "keeps getting worse"):
        assert sign in flags
    assert any("see your physician" in line for week in content.PLAN_30_DAYS for line in week.how)
    assert any("doctor" in caution for step in content.PROTOCOL for caution in step.cautions)
