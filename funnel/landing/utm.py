"""What a landing-page URL may put into our records: UTM values anyone can type, bounded before they are stored.

Every anonymous visit is counted per (source, medium, campaign) and every signup keeps its five UTM values, and
all of them end up in the dashboard, its CSV files and the lead's admin page. So a value is at most
UTM_MAX_LENGTH characters of letters, digits (any script), spaces and `_ . ~ -`, starting with a letter or digit
(no `=`, `+`, `@` or `-` in front that a spreadsheet would run); anything else is counted as OTHER rather than
stored. Campaign tags a marketer writes fit easily.
"""

import re

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
UTM_MAX_LENGTH = 64
OTHER = "(other)"  # parentheses cannot come from a URL (see _ALLOWED), so this never collides with a real value
_ALLOWED = re.compile(r"[^\W_][\w .~-]*")


def clean_utm(raw: object) -> str:
    """The value as we store it: '' for none, the trimmed value when it is allowed, else OTHER."""
    value = " ".join(str(raw or "").split())  # line breaks and tabs become single spaces
    if not value:
        return ""
    value = value[:UTM_MAX_LENGTH].rstrip()
    return value if _ALLOWED.fullmatch(value) else OTHER
