from django.db import models


class DailyVisit(models.Model):
    """Landing page visits counted per day and UTM source: a counter, never an IP or a cookie id."""

    date = models.DateField()
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["date", "utm_source", "utm_medium", "utm_campaign"], name="one_visit_counter_per_day_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.utm_source or '(direct)'}: {self.count}"
