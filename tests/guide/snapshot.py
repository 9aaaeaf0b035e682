"""The full guide's content as plain JSON: every public name of funnel.guide.content, dataclasses as dicts (with
their computed properties), tuples marked as such, and what the helper functions answer for every area and day.

tests/guide/guide_content.json is this snapshot, taken from the Python module the data files replaced; the test
that compares it keeps the loader honest. A deliberate copy change updates it:
    .venv/bin/python -m tests.guide.snapshot --write
"""

import dataclasses
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

SNAPSHOT = Path(__file__).with_name("guide_content.json")


def plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
        properties = {name: plain(getattr(value, name)) for name, attr in vars(type(value)).items()
                      if isinstance(attr, property)}
        return {"__type__": type(value).__name__, **fields, **properties}
    if isinstance(value, tuple):
        return {"__tuple__": [plain(item) for item in value]}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {"__dict__": {key: plain(item) for key, item in value.items()}}
    if isinstance(value, (str, int, float, bool)) or value is None:  # JSON keeps these apart (1, 1.0, true, "1")
        return value
    raise TypeError(f"not snapshotted: {type(value).__name__}")


def snapshot(content: ModuleType) -> dict[str, Any]:
    public = [name for name in dir(content) if name.isupper() and not name.startswith("_")]
    names = {name: plain(getattr(content, name)) for name in public}
    slugs = [area.slug for area in content.AREAS]
    answers = {
        "plan_day": {str(n): plain(content.plan_day(n)) for n in range(-1, 12)},
        "spots_for": {"all": plain(content.spots_for(slugs)), **{s: plain(content.spots_for([s])) for s in slugs}},
        "stretches_for": {"all": plain(content.stretches_for(slugs)),
                          **{s: plain(content.stretches_for([s])) for s in slugs}},
    }
    return {"names": names, "answers": answers}


if __name__ == "__main__":
    from funnel.guide import content as guide_content  # plain data: no Django setup needed

    taken = json.dumps(snapshot(guide_content), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if "--write" in sys.argv:
        SNAPSHOT.write_text(taken, encoding="utf-8")
    else:
        sys.stdout.write(taken)
