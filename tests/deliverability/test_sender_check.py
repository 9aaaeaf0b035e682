"""Issue 22 item 4: the From domains' DNS against what the ESP needs, read from a DNS server on loopback.

A good zone passes every line; each broken zone fails (or warns on) the line of the record it lacks, and that line
names the record to add. Without DNS every line says it could not be checked, and the command exits non-zero
without a traceback. `check --deploy` runs it only when SENDER_CHECK_ON_DEPLOY is on.
"""

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.checks import Info, Warning
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError

from emails.deliverability.checks import sender_domain_check
from emails.deliverability.sender_check import Line, Outcome, sender_report
from tests.conftest import ROOT
from tests.deliverability.dns_server import LocalDns, unanswered_address

SELECTOR = "20240101000000pm"
GOOD = {
    "spf": 'painreset.example. 300 IN TXT "v=spf1 include:spf.mtasv.net ~all"',
    "dkim": f'{SELECTOR}._domainkey.painreset.example. 300 IN TXT "k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"',
    "dmarc": '_dmarc.painreset.example. 300 IN TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@painreset.example"',
    "return_path": "pm-bounces.painreset.example. 300 IN CNAME pm.mtasv.net.",
}


def zone(**changes: str | None) -> str:
    """The good zone with some records replaced (a string) or removed (None)."""
    records = {**GOOD, **changes}
    return "\n".join(record for record in records.values() if record)


@pytest.fixture(autouse=True)
def postmark(settings: Any) -> None:
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.SENDER_CHECK_ESP = ""
    settings.ESP_DKIM_SELECTOR = SELECTOR
    settings.ESP_RETURN_PATH_HOST = ""
    settings.DEFAULT_FROM_EMAIL = "Pain Reset <hello@painreset.example>"
    settings.TRANSACTIONAL_FROM_EMAIL = "Pain Reset <account@painreset.example>"


def lines() -> dict[str, Line]:
    return {line.record: line for line in sender_report().lines}


def outcomes() -> dict[str, str]:
    return {record: line.outcome.value for record, line in lines().items()}


def test_a_good_zone_passes_every_line_and_the_command_says_so(local_dns: LocalDns, capsys: Any) -> None:
    local_dns.zone(zone())
    assert outcomes() == {"SPF": "pass", "DKIM": "pass", "DMARC": "pass", "DMARC alignment": "pass",
                          "Return-Path": "pass"}
    call_command("sender_check")  # no CommandError: exit status 0
    out = capsys.readouterr().out
    assert "Sender domain check for Postmark" in out
    assert "painreset.example (marketing From and transactional From)" in out
    assert out.count("PASS") == 5


BROKEN = [
    pytest.param({"spf": None}, "SPF", "fail", 'TXT painreset.example "v=spf1 include:spf.mtasv.net ~all"',
                 id="no SPF"),
    pytest.param({"spf": 'painreset.example. 300 IN TXT "v=spf1 include:_spf.google.com ~all"'}, "SPF", "fail",
                 'TXT painreset.example "v=spf1 include:spf.mtasv.net include:_spf.google.com ~all"',
                 id="SPF without the ESP"),
    pytest.param({"dkim": None}, "DKIM", "fail",
                 f'TXT {SELECTOR}._domainkey.painreset.example "k=rsa; p=<the public key Postmark shows',
                 id="no DKIM"),
    pytest.param({"dmarc": None}, "DMARC", "fail",
                 'TXT _dmarc.painreset.example "v=DMARC1; p=none; rua=mailto:dmarc-reports@painreset.example"',
                 id="no DMARC"),
    pytest.param({"dmarc": '_dmarc.painreset.example. 300 IN TXT "v=DMARC1; rua=mailto:d@painreset.example"'},
                 "DMARC", "fail", 'TXT _dmarc.painreset.example "v=DMARC1; p=none;', id="DMARC without a policy"),
    pytest.param({"dmarc": '_dmarc.painreset.example. 300 IN TXT "v=DMARC1; p=none"'}, "DMARC", "warn",
                 'TXT _dmarc.painreset.example "v=DMARC1; p=quarantine;', id="DMARC p=none"),
    pytest.param({"dmarc": '_dmarc.painreset.example. 300 IN TXT "v=DMARC1; p=reject; aspf=s"'},
                 "DMARC alignment", "warn", "drop aspf=s from _dmarc.painreset.example", id="no SPF alignment"),
    pytest.param({"return_path": None}, "Return-Path", "fail", "CNAME pm-bounces.painreset.example pm.mtasv.net",
                 id="no Return-Path CNAME"),
    pytest.param({"return_path": "pm-bounces.painreset.example. 300 IN CNAME bounces.elsewhere.example."},
                 "Return-Path", "fail", "CNAME pm-bounces.painreset.example pm.mtasv.net",
                 id="Return-Path elsewhere"),
]


@pytest.mark.parametrize(("changes", "record", "outcome", "fix"), BROKEN)
def test_each_broken_zone_names_the_missing_record(local_dns: LocalDns, changes: dict[str, str | None], record: str,
                                                   outcome: str, fix: str, capsys: Any) -> None:
    local_dns.zone(zone(**changes))
    found = lines()
    assert found[record].outcome.value == outcome, found[record]
    assert found[record].fix.startswith(fix), found[record].fix
    # The other records are untouched (alignment follows DKIM and the Return-Path, so it may warn with them).
    others = {name: line.outcome.value for name, line in found.items() if name not in (record, "DMARC alignment")}
    assert set(others.values()) == {"pass"}, others
    if outcome == "fail":
        with pytest.raises(CommandError) as failed:
            call_command("sender_check")
        assert failed.value.returncode == 1
        assert fix in capsys.readouterr().out
    else:
        call_command("sender_check")  # a warning alone does not fail the command


def test_without_dkim_and_return_path_dmarc_cannot_align(local_dns: LocalDns) -> None:
    local_dns.zone(zone(dkim=None, return_path=None))
    alignment = lines()["DMARC alignment"]
    assert alignment.outcome == Outcome.FAIL
    assert "neither DKIM nor SPF aligns" in alignment.detail
    assert f"{SELECTOR}._domainkey.painreset.example" in alignment.fix and "pm-bounces" in alignment.fix


def test_spf_through_nested_includes_passes_and_two_spf_records_fail(local_dns: LocalDns) -> None:
    local_dns.zone(zone(spf='painreset.example. 300 IN TXT "v=spf1 include:_spf.painreset.example -all"\n'
                            '_spf.painreset.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 include:spf.mtasv.net ~all"'))
    assert lines()["SPF"].outcome == Outcome.PASS
    local_dns.zone(zone(spf='painreset.example. 300 IN TXT "v=spf1 include:spf.mtasv.net ~all"\n'
                            'painreset.example. 300 IN TXT "v=spf1 include:_spf.google.com ~all"'))
    spf = lines()["SPF"]
    assert spf.outcome == Outcome.FAIL and "2 SPF records" in spf.detail


def test_two_dmarc_records_fail(local_dns: LocalDns) -> None:
    local_dns.zone(zone(dmarc='_dmarc.painreset.example. 300 IN TXT "v=DMARC1; p=reject"\n'
                              '_dmarc.painreset.example. 300 IN TXT "v=DMARC1; p=none"'))
    dmarc = lines()["DMARC"]
    assert dmarc.outcome == Outcome.FAIL and "2 DMARC records" in dmarc.detail


def test_dkim_through_a_cname_and_a_revoked_key(local_dns: LocalDns) -> None:
    local_dns.zone(zone(dkim=f"{SELECTOR}._domainkey.painreset.example. 300 IN CNAME keys.esp.example.\n"
                             'keys.esp.example. 300 IN TXT "v=DKIM1; k=rsa; p=MIGfMA0GCSq"'))
    assert lines()["DKIM"].outcome == Outcome.PASS
    local_dns.zone(zone(dkim=f'{SELECTOR}._domainkey.painreset.example. 300 IN TXT "v=DKIM1; k=rsa; p="'))
    assert "revoked" in lines()["DKIM"].detail


def test_each_from_domain_is_checked_and_a_subdomain_uses_its_parents_dmarc(local_dns: LocalDns,
                                                                           settings: Any) -> None:
    settings.DEFAULT_FROM_EMAIL = "Pain Reset <hello@news.painreset.example>"
    local_dns.zone(zone() + "\n" + "\n".join(
        record.replace("painreset.example.", "news.painreset.example.")
        for name, record in GOOD.items() if name != "dmarc"))
    report = sender_report()
    assert [(d.domain, d.used_by) for d in report.domains] == [("news.painreset.example", ["marketing From"]),
                                                               ("painreset.example", ["transactional From"])]
    assert report.ok and report.count(Outcome.PASS) == 10
    assert ("_dmarc.painreset.example", "TXT") in local_dns.resolver.queries  # the parent's record was read


def test_without_a_selector_or_a_known_esp_the_lines_say_what_to_set(local_dns: LocalDns, settings: Any) -> None:
    local_dns.zone(zone())
    settings.ESP_DKIM_SELECTOR = ""
    dkim = lines()["DKIM"]
    assert dkim.outcome == Outcome.UNCHECKED and "ESP_DKIM_SELECTOR is not set" in dkim.detail
    settings.EMAIL_BACKEND = "emails.backends.OutboxBackend"
    found = lines()
    assert found["SPF"].outcome == Outcome.UNCHECKED and "set SENDER_CHECK_ESP" in found["SPF"].detail
    assert found["DMARC"].outcome == Outcome.PASS  # DMARC does not depend on the ESP
    settings.SENDER_CHECK_ESP = "postmark"
    assert lines()["SPF"].outcome == Outcome.PASS


def test_without_dns_every_record_says_it_could_not_be_checked(settings: Any) -> None:
    settings.DNS_NAMESERVER = unanswered_address()
    settings.DNS_TIMEOUT_SECONDS = 0.3
    found = lines()
    assert {line.outcome for line in found.values()} == {Outcome.UNCHECKED}
    assert found["SPF"].detail.startswith("could not read painreset.example: DNS did not answer")
    assert found["DKIM"].detail.startswith(f"could not read {SELECTOR}._domainkey.painreset.example")
    assert found["DMARC"].detail.startswith("could not read _dmarc.painreset.example")
    assert found["Return-Path"].detail.startswith("could not read pm-bounces.painreset.example")


def test_the_command_without_dns_exits_non_zero_without_a_traceback(tmp_path: Any) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", "VAR_DIR": str(tmp_path),
           "DNS_NAMESERVER": unanswered_address(), "DNS_TIMEOUT_SECONDS": "0.3", "SENDER_CHECK_ESP": "postmark",
           "ESP_DKIM_SELECTOR": SELECTOR, "DEFAULT_FROM_EMAIL": "hello@painreset.example",
           "TRANSACTIONAL_FROM_EMAIL": "account@painreset.example"}
    env.pop("DATABASE_URL", None)
    result = subprocess.run([sys.executable, "manage.py", "sender_check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.count("COULD NOT CHECK") == 5
    assert "5 could not be checked" in result.stderr


def test_the_deploy_check_is_off_unless_switched_on(local_dns: LocalDns, settings: Any) -> None:
    local_dns.zone(zone(dmarc=None))
    settings.SENDER_CHECK_ON_DEPLOY = False
    assert sender_domain_check() == []
    call_command("check", "--deploy", "--tag", "deliverability", "--fail-level", "WARNING")  # what bin/migrate runs

    settings.SENDER_CHECK_ON_DEPLOY = True
    messages = sender_domain_check()
    assert [(type(m), m.id) for m in messages] == [(Warning, "emails.W101")]
    assert messages[0].msg.startswith("painreset.example DMARC: no DMARC record")
    assert "_dmarc.painreset.example" in (messages[0].hint or "")
    with pytest.raises(SystemCheckError):
        call_command("check", "--deploy", "--tag", "deliverability", "--fail-level", "WARNING")


def test_the_deploy_check_warns_when_it_cannot_run_and_informs_on_a_warning(local_dns: LocalDns,
                                                                           settings: Any) -> None:
    settings.SENDER_CHECK_ON_DEPLOY = True
    local_dns.zone(zone(dmarc='_dmarc.painreset.example. 300 IN TXT "v=DMARC1; p=none"'))
    assert [(type(m), m.id) for m in sender_domain_check()] == [(Info, "emails.I101")]
    settings.DNS_NAMESERVER = unanswered_address()
    settings.DNS_TIMEOUT_SECONDS = 0.3
    messages = sender_domain_check()
    assert {m.id for m in messages} == {"emails.W102"} and len(messages) == 5


@pytest.mark.django_db
def test_the_admin_page_shows_each_line_with_the_record_to_add(local_dns: LocalDns, admin_client: Any) -> None:
    local_dns.zone(zone(return_path=None))
    page = admin_client.get("/admin/sender-check/").content.decode()
    assert "1 to fix" in page
    assert 'data-record="Return-Path"' in page and "CNAME pm-bounces.painreset.example pm.mtasv.net" in page
    assert page.count("<strong>pass</strong>") == 3  # SPF, DKIM, DMARC; alignment warns without the CNAME
    index = admin_client.get("/admin/").content.decode()
    assert "/admin/sender-check/" in index
