"""What a message says, per channel and language: the incident's public id, what is asked, the
deadline in the cluster's zone and the reader's language, the link; an SMS in two segments."""

import uuid
from datetime import UTC, datetime

import pytest

from coordination.notify.lifecycle import Reason
from coordination.notify.links import notification_id_from, token_for
from coordination.notify.models import Notification
from coordination.notify.rendering import render, sms_segments
from coordination.workflows.models import Acknowledgement
from incidents.models import Incident
from tests.conftest import DONGGUAN, HONG_KONG, SHENZHEN

DUE = datetime(2026, 12, 6, 21, 30, tzinfo=UTC)  # 05:30 on the 7th in the Greater Bay Area


def notification(*, channel="sms", jurisdiction=DONGGUAN, language=None, title="Flood on the border", **params):
    incident = Incident(pk=1, public_id="INC-2026-000123", title=title, level="II", cluster_id="GBA",
                        reporting_jurisdiction_id=SHENZHEN, exercise=False)
    ack = Acknowledgement(due_at=DUE)
    if language:
        params["language"] = language
    return Notification(id=uuid.uuid4(), incident=incident, acknowledgement=ack, reason=Reason.ACK_REQUESTED,
                        params={"asker": SHENZHEN, **params}, jurisdiction_id=jurisdiction, channel=channel)


@pytest.mark.django_db
@pytest.mark.parametrize(("jurisdiction", "language", "words", "deadline"), [
    (DONGGUAN, None, ["深圳", "东莞", "确认"], "12月7日 05:30"),
    (HONG_KONG, None, ["深圳", "確認"], "12月7日 05:30"),
    (DONGGUAN, "en", ["Shenzhen", "Dongguan", "acknowledge"], "7 Dec 05:30"),
])
def test_each_channel_names_the_incident_the_ask_the_deadline_and_the_link(gba, settings, jurisdiction, language,
                                                                            words, deadline):
    settings.PUBLIC_BASE_URL = "https://liandong.example"
    for channel in ("email", "sms", "wecom", "webpush"):
        row = notification(channel=channel, jurisdiction=jurisdiction, language=language)
        message = render(row)
        whole = message.subject + "\n" + message.text
        assert "INC-2026-000123" in whole, (channel, whole)
        for word in words:
            assert word in whole, (channel, word, whole)
        assert deadline in whole, (channel, whole)
        assert message.link.startswith("https://liandong.example/ack/")
        assert notification_id_from(message.link.rsplit("/", 2)[1]) == row.pk
        if channel != "webpush":
            assert message.link in message.text


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "zh-hant", "en"])
def test_an_sms_stays_within_two_segments_and_keeps_its_link_whole(gba, settings, language):
    settings.PUBLIC_BASE_URL = "https://liandong.gba-emergency.gov.cn"
    row = notification(language=language, title="特大暴雨引发山洪，深圳与东莞交界多处道路被淹" * 5)
    message = render(row)
    assert sms_segments(message.text) <= 2, (len(message.text), message.text)
    assert message.link in message.text and "INC-2026-000123" in message.text
    assert ("7 Dec 05:30" if language == "en" else "12月7日 05:30") in message.text


def test_a_token_names_one_row_and_a_forged_one_nothing():
    pk = uuid.uuid4()
    token = token_for(pk)
    assert notification_id_from(token) == pk
    assert len(token) <= 45
    assert notification_id_from(token[:-2] + "xx") is None
    assert notification_id_from(token_for(uuid.uuid4())) != pk
    assert notification_id_from("not-a-token") is None


@pytest.mark.django_db
@pytest.mark.parametrize(("language", "words"), [("zh-hans", "回复 "), ("en", "reply ")])
def test_an_sms_names_its_reply_code_where_replies_come_back(gba, settings, language, words):
    from coordination.notify.providers.replies import reply_code_for

    settings.SMS_PROVIDER = "gateway"
    row = notification(language=language)
    message = render(row)
    assert f"{words}{reply_code_for(row.pk)}" in message.text and sms_segments(message.text) <= 2
    settings.SMS_PROVIDER = "tencent"
    settings.TENCENT_SMS_CALLBACK_TOKEN = ""
    assert reply_code_for(row.pk) not in render(row).text  # its callbacks are off: no reply comes back
    settings.TENCENT_SMS_CALLBACK_TOKEN = "tencent-callback-token"
    assert f"{words}{reply_code_for(row.pk)}" in render(row).text  # Tencent's reply callback takes it
