"""The consent text shown next to the signup checkbox, versioned in code.

Change the wording → bump the version, so every ConsentRecord proves exactly what that person read.
"""

CONSENT_VERSION = "2026-11-01"
CONSENT_TEXT = (
    "Yes, email me the free 3-Step Pain Reset quick reference and a short daily email for 7 days "
    "with tips and an offer for the full guide. I can unsubscribe at any time with one click."
)
