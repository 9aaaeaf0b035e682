"""Segments: saved, named filters over lead fields and email events (emails/segments/conditions.py), compiled to
one queryset (selectors.segment_leads) and counted with indexes (selectors.segment_count)."""
