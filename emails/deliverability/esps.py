"""What each ESP asks a sender to publish in DNS: the facts the sender check compares the From domain's records with.

Sources: each ESP's domain-verification pages (Postmark: Sender Signatures → DNS settings; Amazon SES: Easy DKIM
and custom MAIL FROM domain; SendGrid: domain authentication; Mailgun: domain verification). A DKIM selector is
per account (Postmark's are date-stamped, e.g. `20240101000000pm`), so it is a setting, `ESP_DKIM_SELECTOR`; so is
the Return-Path host where the ESP makes it per account (`ESP_RETURN_PATH_HOST`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

ANYMAIL_BACKENDS = "anymail.backends."


@dataclass(frozen=True)
class EspDns:
    name: str
    spf_include: str  # the host in `include:` that authorises the ESP's servers
    dkim_type: str  # what the ESP asks for at <selector>._domainkey: "TXT" (a key) or "CNAME" (delegated to it)
    dkim_value: str  # shown in the record to add
    return_path_host: str  # the bounce (Return-Path / MAIL FROM) host under the From domain; "@" = the domain itself
    return_path_type: str  # "CNAME" or "MX"
    return_path_target: str  # the host it must point at; a leading "." means any host under that domain

    def return_path_points_at_esp(self, target: str) -> bool:
        wanted = self.return_path_target
        if wanted.startswith("."):
            return target.endswith(wanted) or target == wanted[1:]
        return target == wanted


ESPS = {
    "postmark": EspDns(
        name="Postmark", spf_include="spf.mtasv.net", dkim_type="TXT",
        dkim_value="k=rsa; p=<the public key Postmark shows for this domain>",
        return_path_host="pm-bounces", return_path_type="CNAME", return_path_target="pm.mtasv.net"),
    "amazon_ses": EspDns(
        name="Amazon SES", spf_include="amazonses.com", dkim_type="CNAME",
        dkim_value="<selector>.dkim.amazonses.com", return_path_host="", return_path_type="MX",
        return_path_target=".amazonses.com"),
    "sendgrid": EspDns(
        name="SendGrid", spf_include="sendgrid.net", dkim_type="CNAME",
        dkim_value="<selector>.domainkey.<your SendGrid host>.sendgrid.net", return_path_host="",
        return_path_type="CNAME", return_path_target=".sendgrid.net"),
    "mailgun": EspDns(
        name="Mailgun", spf_include="mailgun.org", dkim_type="TXT",
        dkim_value="k=rsa; p=<the public key Mailgun shows for this domain>", return_path_host="@",
        return_path_type="MX", return_path_target=".mailgun.org"),
}


def configured_esp() -> tuple[str, EspDns | None]:
    """(key, facts) of the ESP named by SENDER_CHECK_ESP, else by EMAIL_BACKEND; facts None when unknown."""
    key = settings.SENDER_CHECK_ESP.strip().lower()
    if not key and settings.EMAIL_BACKEND.startswith(ANYMAIL_BACKENDS):
        key = settings.EMAIL_BACKEND.removeprefix(ANYMAIL_BACKENDS).split(".", 1)[0]
    return key, ESPS.get(key)


def return_path_host(esp: EspDns) -> str:
    """The configured bounce host label (ESP_RETURN_PATH_HOST), else the ESP's default; "" when neither."""
    return settings.ESP_RETURN_PATH_HOST.strip() or esp.return_path_host
