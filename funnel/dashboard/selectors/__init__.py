"""Every figure on the conversion dashboard, aggregated in the database.

Definitions (shown to marketers on the page, and relied on by the tests):

- The period is a range of whole UTC days, both ends included. UTM filters match the lead's first-touch
  `utm_source` / `utm_medium` / `utm_campaign` (and the same columns of the landing page visit counters).
- The funnel follows the *signup cohort*: the leads who signed up in the period, and what they did after
  that, up to now. Landing visits are the visits counted on the days of the period.
  Steps: visits → signups → confirmed → opened the welcome email → clicked any upgrade link → started a checkout
  → paid (a purchase that was paid, even if refunded or disputed later) → refunded.
- Revenue is the cohort's purchases: gross = every paid purchase, net = gross minus refunded purchases.
- Average days to purchase: from signup to the lead's first paid purchase, over the cohort's buyers.
- Per email covers the sequence emails (welcome, day-1..day-7) *sent* in the period. "Clicked" and "upgrade
  clicks" count emails with at least one click through our signed redirect (exact, unlike ESP click tracking).
  Purchases are credited to the exact email whose link started the checkout.
  Unsubscribes: people who unsubscribed with our own link or preferences page, credited to the last sequence
  email sent to them before they unsubscribed, plus "unsubscribed" events reported by the ESP on that email for
  people who did not (also) unsubscribe with our link, so nobody is counted twice.
- Cohorts: signups grouped by the week (Monday) they signed up; the share who paid within 1, 3, 7, 14 and 30
  days of signing up. A share is marked incomplete while the cohort is younger than that many days.

The number of queries is constant: no query runs per lead, per email or per row of a table.

Speed: counting the leads, mail and events of a period grows with the list (seconds at 1,000,000 leads). So every
figure is summed from daily rollups (signups: the signup cohort per day and source; per_email: EmailDayCount;
deliverability) for the days they have built (days.read_days: closed days, and today and yesterday while their build
is at most 10 minutes old), and counted live for the others with the same code (signup_counts, email_counts,
deliverability_counts): the numbers are the same either way. See dashboard/services.py for how the rollup stays
current when events, purchases and refunds arrive late. Both paths rely on a click or a purchase following its
email's send (a link cannot be used before it is mailed).

One module per section of the page: common (filters, the reporting transaction), days (rollup or live), signups
(the cohort rows), funnel (with revenue and per source), per_email, cohorts, over_time, deliverability (rates per
stream and mailbox provider), experiments (the per-experiment view). Everything is re-exported here, so
`from funnel.dashboard import selectors; selectors.per_email(...)` keeps working.
"""

from funnel.dashboard.selectors.cohorts import CohortRow, cohorts
from funnel.dashboard.selectors.common import (
    COHORT_DAYS,
    PAID_STATUSES,
    UTM_FIELDS,
    DashboardFilters,
    nested_loop_joins,
    rate,
    reporting_session,
)
from funnel.dashboard.selectors.days import (
    OPEN_DAY_FRESH_FOR,
    OPEN_DAYS,
    Range,
    day_range,
    day_ranges,
    in_ranges,
    read_days,
    rolled_days,
    split_days,
)
from funnel.dashboard.selectors.deliverability import (
    COUNT_COLUMNS,
    Counts,
    Deliverability,
    RateRow,
    deliverability_counts,
    deliverability_rates,
)
from funnel.dashboard.selectors.experiments import ArmRow, ExperimentReport, experiment_report, recent_experiments
from funnel.dashboard.selectors.funnel import (
    FUNNEL_STEPS,
    FunnelStep,
    FunnelSummary,
    funnel_and_sources,
    funnel_summary,
    leads_in,
    per_source,
)
from funnel.dashboard.selectors.over_time import DayPoint, conversion_by_day, utm_choices
from funnel.dashboard.selectors.per_email import (
    EMAIL_EVENT_COLUMNS,
    ROLLED_EMAIL_COLUMNS,
    EmailRow,
    email_counts,
    per_email,
    sequence_sent_in,
)
from funnel.dashboard.selectors.signups import (
    SIGNUP_COLUMNS,
    signup_counts,
    signup_rows,
    step_conditions,
)
from funnel.dashboard.selectors.sources import SOURCE_SORT_KEYS, SourceRow, sort_sources

__all__ = [
    "ArmRow", "ExperimentReport", "experiment_report", "recent_experiments",
    "COUNT_COLUMNS", "Counts", "Deliverability", "RateRow", "deliverability_counts",
    "deliverability_rates",
    "COHORT_DAYS", "EMAIL_EVENT_COLUMNS", "FUNNEL_STEPS", "OPEN_DAYS", "PAID_STATUSES", "ROLLED_EMAIL_COLUMNS",
    "SOURCE_SORT_KEYS", "UTM_FIELDS", "CohortRow", "DashboardFilters", "DayPoint", "EmailRow", "FunnelStep",
    "FunnelSummary", "Range", "SourceRow", "cohorts", "conversion_by_day", "day_range", "day_ranges", "email_counts",
    "funnel_and_sources", "funnel_summary", "in_ranges", "leads_in", "nested_loop_joins", "per_email", "per_source",
    "rate", "reporting_session", "rolled_days", "sequence_sent_in", "sort_sources", "split_days", "step_conditions",
    "utm_choices", "OPEN_DAY_FRESH_FOR", "read_days", "SIGNUP_COLUMNS", "signup_counts", "signup_rows",
]
