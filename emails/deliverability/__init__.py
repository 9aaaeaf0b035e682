"""Deliverability: is the From domain's DNS set up for the ESP (sender_check), and which mailbox provider each
recipient's domain belongs to (providers, for the rates on the dashboard). Both read DNS through dns.py."""
