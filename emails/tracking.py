"""Receiver of anymail's `tracking` signal. Filled in by the drip engine (issue 4)."""
