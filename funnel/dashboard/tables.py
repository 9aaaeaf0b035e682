"""The dashboard's tables as plain rows: the page shows them formatted, the CSV download writes the raw values.

One definition per table, so the page and its CSV can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from funnel.dashboard import selectors
from funnel.dashboard.figures import Figures
from funnel.dashboard.selectors import COHORT_DAYS, DashboardFilters
from leads.spreadsheet import csv_cell

INT, PCT, MONEY, TEXT, DAYS = "int", "pct", "money", "text", "days"
RATE = "rate"  # a small percentage (complaints): two decimals


# How each kind of figure is written: scaled (a share to per cent, cents to dollars), then formatted for the page
# or for the CSV (see cell_text).
@dataclass(frozen=True)
class _Written:
    scale: Callable[[Any], Any]
    page: str
    csv: str


_WRITTEN = {
    INT: _Written(lambda v: v, "{:,}", "{}"),
    PCT: _Written(lambda v: v * 100, "{:.1f}%", "{:.2f}"),
    MONEY: _Written(lambda v: v / 100, "${:,.2f}", "{:.2f}"),
    DAYS: _Written(lambda v: v, "{:.1f}", "{:.2f}"),
    RATE: _Written(lambda v: v * 100, "{:.2f}%", "{:.3f}"),
    TEXT: _Written(lambda v: v, "{}", "{}"),
}


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = INT
    sort_key: str = ""  # set on tables sortable by this column


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    note: str = ""
    # Per cell: True when the figure is not final yet (a cohort too young for its column).
    so_far: list[list[bool]] = field(default_factory=list)

    @cached_property
    def display_rows(self) -> list[list[str]]:
        shown = []
        for index, row in enumerate(self.rows):
            flags = self.so_far[index] if self.so_far else [False] * len(row)
            shown.append([cell_text(value, column.kind) + (" so far" if flag and value is not None else "")
                          for value, column, flag in zip(row, self.columns, flags, strict=True)])
        return shown

    @cached_property
    def cells(self) -> list[list[tuple[str, bool]]]:
        """For the page: each cell's text and whether it is a number (right-aligned)."""
        numeric = [column.kind != TEXT for column in self.columns]
        return [list(zip(row, numeric, strict=True)) for row in self.display_rows]

    def csv_rows(self) -> list[list[str]]:
        """Every cell made safe to open in a spreadsheet (csv_cell); write them with csv.QUOTE_ALL."""
        rows = [[column.title for column in self.columns]] + [
            [cell_text(value, column.kind, for_csv=True) for value, column in zip(row, self.columns, strict=True)]
            for row in self.rows
        ]
        return [[csv_cell(cell) for cell in row] for row in rows]


def cell_text(value: Any, kind: str, *, for_csv: bool = False) -> str:
    """A figure as the page shows it, or (for_csv) as a spreadsheet should read it: percentages as numbers with
    two decimals, money in dollars, no thousands separators, an empty cell for no figure."""
    if value is None:
        return "" if for_csv else "–"
    written = _WRITTEN[kind]
    return (written.csv if for_csv else written.page).format(written.scale(value))


def funnel_table(summary: selectors.FunnelSummary) -> Table:
    return Table(
        slug="funnel",
        title="Funnel",
        columns=[Column("Step", TEXT), Column("Count"), Column("Rate from previous step", PCT),
                 Column("Rate from top", PCT), Column("Previous period"), Column("Change vs previous", PCT)],
        rows=[[s.label, s.count, s.rate_from_previous, s.rate_from_top, s.previous_count, s.change]
              for s in summary.steps],
        note="People who signed up in the period and what they did since; visits are those of the period's days.",
    )


def revenue_table(summary: selectors.FunnelSummary) -> Table:
    def change(now: float | None, before: float | None) -> float | None:
        return None if now is None or not before else (now - before) / before

    return Table(
        slug="revenue",
        title="Revenue",
        columns=[Column("Figure", TEXT), Column("This period", MONEY), Column("Previous period", MONEY),
                 Column("Change", PCT)],
        rows=[
            ["Gross revenue", summary.gross_cents, summary.previous_gross_cents,
             change(summary.gross_cents, summary.previous_gross_cents)],
            ["Refunded", summary.refunded_cents, summary.previous_gross_cents - summary.previous_net_cents, None],
            ["Net revenue (gross minus refunds)", summary.net_cents, summary.previous_net_cents,
             change(summary.net_cents, summary.previous_net_cents)],
        ],
        note="Purchases by people who signed up in the period.",
    )


def timing_table(summary: selectors.FunnelSummary) -> Table:
    return Table(
        slug="timing",
        title="Time to purchase",
        columns=[Column("Figure", TEXT), Column("This period", DAYS), Column("Previous period", DAYS)],
        rows=[["Average days from signup to first purchase", summary.avg_days_to_purchase,
               summary.previous_avg_days_to_purchase]],
    )


def email_table(rows: list[selectors.EmailRow]) -> Table:
    return Table(
        slug="emails",
        title="Per email",
        columns=[Column("Email", TEXT), Column("Sent"), Column("Delivered"), Column("Opened"),
                 Column("Open rate", PCT), Column("Clicked"), Column("Click rate", PCT), Column("Upgrade clicks"),
                 Column("Scanner clicks"), Column("Purchases credited"), Column("Gross revenue", MONEY),
                 Column("Net revenue", MONEY), Column("Unsubscribes"), Column("Bounces"), Column("Complaints")],
        rows=[[r.step, r.sent, r.delivered, r.opened, r.rate("opened"), r.clicked, r.rate("clicked"),
               r.upgrade_clicks, r.machine_clicked, r.purchases, r.gross_cents, r.net_cents, r.unsubscribes,
               r.bounces, r.complaints]
              for r in rows],
        note=("Sequence emails sent in the period. Opens are unreliable: privacy features of mail apps pre-load "
              "images (counting opens that never happened) and image blocking hides real ones; use clicks and "
              "purchases to judge an email. Clicks and purchases are exact, from our signed links; "
              "clicks by mailbox scanners and bots (HEAD, scanner agents, seconds after delivery, every link at once) "
              "are counted apart as scanner clicks. Unsubscribes "
              "are credited to the last sequence email sent before the unsubscribe."),
    )


def cohort_table(rows: list[selectors.CohortRow]) -> Table:
    return Table(
        slug="cohorts",
        title="Cohorts by signup week",
        columns=[Column("Week of", TEXT), Column("Signups")]
        + [Column(f"Paid by day {days}", PCT) for days in COHORT_DAYS],
        rows=[[r.week.isoformat(), r.signups] + [r.share(days) for days in COHORT_DAYS] for r in rows],
        note="Share of the week's signups who paid within N days of signing up. "
             "Shares marked “so far” belong to cohorts too young for that many days.",
        so_far=[[False, False] + [not r.complete_by_day[days] for days in COHORT_DAYS] for r in rows],
    )


def source_table(rows: list[selectors.SourceRow]) -> Table:
    return Table(
        slug="sources",
        title="Per source",
        columns=[Column("Source", TEXT, "utm_source"), Column("Campaign", TEXT, "utm_campaign"),
                 Column("Visits", INT, "visits"), Column("Signups", INT, "signups"),
                 Column("Signup rate", PCT, "signup_rate"), Column("Confirmed", INT, "confirmed"),
                 Column("Welcome opened", INT, "welcome_opened"), Column("Upgrade clicked", INT, "upgrade_clicked"),
                 Column("Checkout started", INT, "checkout_started"), Column("Paid", INT, "paid"),
                 Column("Paid rate", PCT, "paid_rate"), Column("Refunded", INT, "refunded"),
                 Column("Net revenue", MONEY, "net_cents")],
        rows=[[r.utm_source or "(direct)", r.utm_campaign or "(none)", r.visits, r.signups, r.signup_rate,
               r.confirmed, r.welcome_opened, r.upgrade_clicked, r.checkout_started, r.paid, r.paid_rate,
               r.refunded, r.net_cents] for r in rows],
        note="First-touch UTM source and campaign of the leads who signed up in the period.",
    )


def daily_table(points: list[selectors.DayPoint]) -> Table:
    return Table(
        slug="daily",
        title="Conversion by signup day",
        columns=[Column("Day", TEXT), Column("Visits"), Column("Signups"), Column("Visit → signup", PCT),
                 Column("Paid so far"), Column("Signup → paid", PCT)],
        rows=[[p.day.isoformat(), p.visits, p.signups, p.signup_rate, p.buyers, p.paid_rate] for p in points],
    )


RATE_COLUMNS = [Column("Sent"), Column("Delivered"), Column("Hard bounces"), Column("Hard bounce rate", RATE),
                Column("Soft bounces"), Column("Soft bounce rate", RATE), Column("Complaints"),
                Column("Complaint rate", RATE), Column("Unsubscribes"), Column("Unsubscribe rate", RATE),
                Column("Status", TEXT)]
RATES_NOTE = ("Each figure on the UTC day it happened. Bounces over sent; complaints and unsubscribes over delivered "
              "(over sent when the ESP reported no deliveries). Limits: complaints 0.1 % warn, 0.3 % stop (Gmail "
              "and Yahoo reject above it); hard bounces 2 % warn. Mailbox provider by the recipient's domain, and for "
              "custom domains by their MX host.")


def _rates(counts: selectors.Counts) -> list[Any]:
    return [counts.sent, counts.delivered, counts.hard_bounces, counts.hard_bounce_rate, counts.soft_bounces,
            counts.soft_bounce_rate, counts.complaints, counts.complaint_rate, counts.unsubscribes,
            counts.unsubscribe_rate, counts.status_note]


def rates_table(figures: selectors.Deliverability) -> Table:
    return Table(slug="rates", title="Rates per stream and mailbox provider",
                 columns=[Column("Stream", TEXT), Column("Provider", TEXT), *RATE_COLUMNS],
                 rows=[[row.stream.capitalize(), row.provider_label, *_rates(row)] for row in figures.rows
                       if not row.provider or any(getattr(row, name) for name in selectors.COUNT_COLUMNS)],
                 note=RATES_NOTE)


def rates_daily_table(figures: selectors.Deliverability) -> Table:
    return Table(slug="rates_daily", title=f"Rates per day, last {len(figures.days)} days",
                 columns=[Column("Day", TEXT), Column("Stream", TEXT), *RATE_COLUMNS],
                 rows=[[day.day.isoformat(), stream.capitalize(), *_rates(counts)]
                       for day in figures.days for stream, counts in day.streams.items()])


TABLE_BUILDERS: dict[str, Callable[[Figures, str], Table]] = {
    "funnel": lambda f, _: funnel_table(f.summary),
    "revenue": lambda f, _: revenue_table(f.summary),
    "timing": lambda f, _: timing_table(f.summary),
    "emails": lambda f, _: email_table(f.emails),
    "cohorts": lambda f, _: cohort_table(f.cohorts),
    "sources": lambda f, sort: source_table(selectors.sort_sources(f.sources, sort)),
    "daily": lambda f, _: daily_table(f.daily),
    "rates": lambda f, _: rates_table(f.deliverability),
    "rates_daily": lambda f, _: rates_daily_table(f.deliverability),
}


def filename(table: Table, filters: DashboardFilters) -> str:
    return f"{table.slug}_{filters.start.isoformat()}_{filters.end.isoformat()}.csv"
