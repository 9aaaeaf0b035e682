"""Postmark's tracking webhook, posted to anymail's real endpoint with the basic auth it checks."""

import base64
import itertools
import json
import re
from datetime import datetime
from typing import Any

from django.test import Client

_ids = itertools.count(4_323_372_036_854_776_000)


def post_webhook(settings: Any, payload: dict[str, Any]) -> None:
    auth = "Basic " + base64.b64encode(settings.ANYMAIL["WEBHOOK_SECRET"].encode()).decode()
    response = Client().post("/anymail/postmark/tracking/", json.dumps(payload), content_type="application/json",
                             HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200, response.content


def report(settings: Any, sent: dict[str, Any], outcome: str, at: datetime) -> None:
    """Postmark's webhook for one accepted message: Delivery, a Bounce or a SpamComplaint (fields as documented)."""
    when = at.isoformat().replace("+00:00", "Z")
    common = {"MessageID": sent["MessageID"], "Metadata": sent["Metadata"], "ServerID": 23,
              "MessageStream": sent.get("MessageStream", "outbound"), "Tag": sent.get("Tag", "")}
    if outcome == "delivered":
        post_webhook(settings, {"RecordType": "Delivery", "Recipient": sent["To"], "DeliveredAt": when,
                                "Details": "smtp;250 2.0.0 OK", **common})
        return
    kind, code, record = {"hard bounce": ("HardBounce", 1, "Bounce"), "soft bounce": ("SoftBounce", 4096, "Bounce"),
                          "complained": ("SpamComplaint", 512, "SpamComplaint")}[outcome]
    post_webhook(settings, {"RecordType": record, "ID": next(_ids), "Type": kind, "TypeCode": code, "Name": kind,
                            "Description": "reported by the receiving server", "Details": "smtp;550 5.1.1",
                            "Email": sent["To"], "From": sent["From"], "BouncedAt": when, "DumpAvailable": False,
                            "Inactive": outcome != "soft bounce", "CanActivate": True, "Subject": sent["Subject"],
                            **common})


def address(sent: dict[str, Any]) -> str:
    return re.sub(r".*<|>.*", "", sent["To"])
