from django.db import models

from funnel.models.sources import CountedPerSource, one_row_per_source


class DailyVisit(CountedPerSource):
    """Landing page visits counted per day and UTM source: a counter, never an IP or a cookie id."""

    date = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [one_row_per_source("date", name="one_visit_counter_per_day_source")]

    def __str__(self) -> str:
        return f"{self.date} {self.utm_source or '(direct)'}: {self.count}"
