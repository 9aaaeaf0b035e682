"""Broadcasts: a one-off email to a segment, written in the copy editor, sent as outbox rows by the dispatcher."""
