"""The first-touch UTM source, medium and campaign that the visit counter and the dashboard's rollups count by."""

from django.db import models

UTM_FIELDS = ["utm_source", "utm_medium", "utm_campaign"]


class CountedPerSource(models.Model):
    """Rows that hold counts per day and per source: one row per key (`one_row_per_source`)."""

    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)

    class Meta:
        abstract = True


def one_row_per_source(*key: str, name: str) -> models.UniqueConstraint:
    """Unique over `key` (the day, and whatever else a row counts per) and the three UTM fields."""
    return models.UniqueConstraint(fields=[*key, *UTM_FIELDS], name=name)
