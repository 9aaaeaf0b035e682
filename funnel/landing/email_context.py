"""Registers this area's email context providers with `emails.rendering` (imported from FunnelConfig.ready)."""
