"""The landing page: what it says, what it weighs, what it counts."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from funnel.models import DailyVisit

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_landing_tells_the_story_in_order_with_the_offer_and_the_notice(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    text = _text(response.content.decode())
    # The three steps, in order, with their timings.
    release, heat, stretch = (text.index("Release about 5 minutes"), text.index("Moist heat 15–20 minutes"),
                              text.index("Stretch about 5 minutes"))
    assert release < heat < stretch
    assert "30 to 90 seconds" in text
    assert "Why the order and the moist heat matter" in text
    for origin in ("hip flexors", "piriformis", "quadratus lumborum", "upper trapezius"):
        assert origin in text
    assert "Buy the full guide — $9.97" in text
    assert "Education, not medical advice." in text


def test_landing_form_is_a_plain_post_form_with_labels_consent_and_honeypot(client: Client) -> None:
    html = client.get("/").content.decode()
    form = re.search(r'<form class="signup" method="post" action="/signup/".*?</form>', html, re.S)
    assert form, "a real form that works without JavaScript"
    body = form.group(0)
    for field in ("email", "first_name", "consent"):
        assert f'for="id_{field}"' in body and f'id="id_{field}"' in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'name="website"' in body and 'tabindex="-1"' in body
    assert "I can unsubscribe at any time" in body
    assert 'href="/buy/"' in html


def test_landing_carries_first_touch_into_hidden_fields(client: Client) -> None:
    html = client.get("/?utm_source=fb&utm_campaign=winter", HTTP_REFERER="https://social.example/post/1"
                      ).content.decode()
    assert 'name="utm_source" value="fb"' in html
    assert 'name="utm_campaign" value="winter"' in html
    assert 'name="referrer" value="https://social.example/post/1"' in html
    assert 'name="landing_path" value="/?utm_source=fb&amp;utm_campaign=winter"' in html


def test_visits_are_counted_per_day_and_source_without_any_ip(client: Client) -> None:
    client.get("/?utm_source=fb&utm_medium=cpc&utm_campaign=w1")
    client.get("/?utm_source=fb&utm_medium=cpc&utm_campaign=w1")
    client.get("/")
    Client(HTTP_USER_AGENT="Googlebot/2.1").get("/")  # crawlers are not visitors
    counts = {(v.utm_source, v.utm_medium, v.utm_campaign): v.count for v in DailyVisit.objects.all()}
    assert counts == {("fb", "cpc", "w1"): 2, ("", "", ""): 1}
    assert not [f.name for f in DailyVisit._meta.get_fields() if "ip" in f.name.lower().split("_")]


def test_page_weight_without_images_is_under_100_kb(client: Client) -> None:
    html = client.get("/").content
    css_files = re.findall(rb'<link rel="stylesheet" href="/static/([^"]+)"', html)
    assert css_files
    css = sum(len((Path(settings.BASE_DIR) / "static" / name.decode()).read_bytes()) for name in css_files)
    scripts = re.findall(rb'<script[^>]*src="/static/([^"]+)"', html)
    # No JS framework: one small file of our own (inline scripts would need a weaker Content-Security-Policy).
    assert scripts == [b"js/site.js"] and len(re.findall(rb"<script", html)) == 1
    js = (Path(settings.BASE_DIR) / "static/js/site.js").stat().st_size
    total = len(html) + css + js
    assert total < 100_000, total


def test_free_guide_page_has_protocol_areas_mistakes_and_red_flags(client: Client) -> None:
    response = client.get("/guide/free/")
    assert response.status_code == 200
    text = _text(response.content.decode())
    assert text.index("Release") < text.index("Moist heat") < text.index("Stretch")
    html = response.content.decode()
    assert html.count('<th scope="row">') == 6
    assert len(re.findall(r'<ol class="mistakes">(.*?)</ol>', html, re.S)[0].split("<li>")) - 1 == 5
    for flag in ("numbness", "weakness", "bladder or bowel", "fever", "after a fall", "at night"):
        assert flag in text
    assert "See a physician if…" in text
    assert "Education, not medical advice." in text
    assert "@media print" in (Path(settings.BASE_DIR) / "static/css/site.css").read_text()
