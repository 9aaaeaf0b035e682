"""Importing a list of leads from a CSV file: the file's checks, the per-row report, the set-based inserts and the
undo. Only the lead side lives here (leads and consent); the confirmation emails and the sequence are added by the
flow in funnel/imports/, which may call `emails`."""
