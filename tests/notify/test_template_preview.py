"""Message template preview (issue 20): a page for commanders and coordinators (linked from "My
contact methods") that renders each playbook step's message per channel and language with
sample data through coordination.notify.rendering (the code that sends them), with an SMS's
length and segments against the 70-character segment; nothing is written or sent."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from coordination.notify.lifecycle import Reason
from coordination.notify.models import Notification
from coordination.notify.rendering import playbook_previews, sms_segments
from tests.conftest import DONGGUAN, GUANGZHOU, SHENZHEN

pytestmark = pytest.mark.django_db

URL = "/me/contact-methods/messages/"


def test_every_step_channel_and_language_rendered_by_the_real_renderer(playbooks):
    flood = playbooks["cross-border-flood-typhoon"]
    previews = playbook_previews(flood.definition, cluster="GBA", asker=SHENZHEN, jurisdiction=DONGGUAN,
                                 silent=GUANGZHOU, level="II", title="Flood", now=timezone.now())
    asked = [step for step in previews if step.reason == Reason.ACK_REQUESTED]
    assert asked and any(step.reason == Reason.ACK_IN_PLACE for step in previews)
    messages = asked[0].messages
    assert set(messages) == {"zh-hans", "zh-hant", "en"}
    for channels in messages.values():
        assert set(channels) == {"email", "sms", "wecom", "webpush"}
        rendered, length = channels["sms"]
        assert length.segments == sms_segments(rendered.text) <= 2 and length.fits
        assert "INC-2026-000123" in rendered.text and rendered.link in rendered.text
    assert "Dongguan" in messages["en"]["email"][0].text and "东莞" in messages["zh-hans"]["email"][0].text
    assert messages["zh-hans"]["sms"][1].single == 70  # Chinese: UCS-2, 70 characters a segment
    assert messages["en"]["sms"][1].single == 160  # the GSM alphabet: 160
    assert not Notification.objects.exists()


@pytest.mark.parametrize(("language", "words"), [
    ("zh-hans", ["消息模板", "短信", "条"]), ("zh-hant", ["消息模板", "渠道"]),
    ("en", ["Message templates", "segment"])])
def test_the_page_for_a_commander(playbooks, make_officer, language, words):
    commander = make_officer("sz-cmd", SHENZHEN, "commander")
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(commander)
    assert "/me/contact-methods/messages/" in client.get("/me/contact-methods/").content.decode()
    answer = client.get(URL, {"playbook": "cross-border-flood-typhoon", "level": "I"})
    assert answer.status_code == 200
    html = answer.content.decode()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    for word in words:
        assert word in text, (word, text[:2000])
    assert "INC-2026-000123" in text and "/ack/" in text
    assert re.search(r"\d+ (characters|个字符|個字元)", text)


def test_operators_may_not(playbooks, make_officer):
    operator = make_officer("sz-op", SHENZHEN, "operator")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(operator)
    assert client.get(URL).status_code == 403
    assert "/me/contact-methods/messages/" not in client.get("/me/contact-methods/").content.decode()
