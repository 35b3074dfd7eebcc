"""An officer's stored language (issue 20): kept with the person (coordination.people), set on
/me/contact-methods/, and every notification to that person is written in it, whatever their
jurisdiction's; without a choice, their jurisdiction's (Traditional Chinese for Hong Kong)."""

import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client

from config.errors import PermissionDenied, ValidationFailed
from coordination.notify.lifecycle import Reason
from coordination.notify.models import Notification
from coordination.notify.rendering import render
from coordination.people import selectors, services
from coordination.workflows.models import Acknowledgement
from incidents.models import Incident
from tests.conftest import DONGGUAN, HONG_KONG, SHENZHEN

pytestmark = pytest.mark.django_db

URL = "/me/contact-methods/"


def row_for(user, jurisdiction, *, written=""):
    incident = Incident(pk=1, public_id="INC-2026-000123", title="Flood", level="II", cluster_id="GBA",
                        reporting_jurisdiction_id=SHENZHEN, exercise=False)
    params = {"asker": SHENZHEN, **({"language": written} if written else {})}
    return Notification(id=uuid.uuid4(), incident=incident,
                        acknowledgement=Acknowledgement(due_at=datetime(2026, 12, 6, 21, 30, tzinfo=UTC)),
                        reason=Reason.ACK_REQUESTED, params=params, jurisdiction_id=jurisdiction,
                        channel="email", recipient=user)


def test_set_on_the_page_and_kept_with_the_person(make_officer):
    officer = make_officer("dg-lang", DONGGUAN)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(officer)
    page = client.get(URL).content.decode()
    body = page.split("</title>", 1)[1]
    assert "我的消息语言" in body and 'name="language"' in body and "<section" not in page.split("</title>")[0]
    assert client.post(f"{URL}language/", {"language": "en"}).status_code == 302
    assert selectors.language_of(officer.pk) == "en"
    assert client.post(f"{URL}language/", {"language": "fr"}).status_code == 400
    assert selectors.language_of(officer.pk) == "en"
    # Quiet hours set later keep the language, and the language keeps the quiet hours.
    services.policy_set(actor=None, officer=officer, quiet_start=None, quiet_end=None)
    assert selectors.language_of(officer) == "en"
    assert client.post(f"{URL}language/", {"language": ""}).status_code == 302
    assert selectors.language_of(officer.pk) == ""


def test_only_the_officer_sets_it(make_officer, principal_for):
    officer = make_officer("dg-lang2", DONGGUAN)
    with pytest.raises(PermissionDenied):
        services.language_set(actor=principal_for(DONGGUAN, role="commander"), officer=officer, language="en")
    with pytest.raises(ValidationFailed):
        services.language_set(actor=None, officer=officer, language="de")


def test_every_message_is_written_in_the_persons_language(gba, make_officer):
    dongguan = make_officer("dg-en", DONGGUAN)
    hong_kong = make_officer("hk-hans", HONG_KONG)
    nobody = make_officer("hk-default", HONG_KONG)
    # Without a choice: the jurisdiction's.
    assert "確認" in render(row_for(nobody, HONG_KONG)).text
    assert "确认" in render(row_for(dongguan, DONGGUAN)).text
    services.language_set(actor=None, officer=dongguan, language="en")
    services.language_set(actor=None, officer=hong_kong, language="zh-hans")
    dongguan.refresh_from_db()
    hong_kong.refresh_from_db()
    english = render(row_for(dongguan, DONGGUAN, written="zh-hans"))  # chosen after the row was written
    assert english.language == "en" and "acknowledge" in english.text and "Dongguan" in english.text
    simplified = render(row_for(hong_kong, HONG_KONG))
    assert simplified.language == "zh-hans" and "确认" in simplified.text


@pytest.mark.django_db(transaction=True)
def test_the_pipeline_mails_each_person_in_their_language(postgres, smtp, on_duty_in_dongguan, flood):
    from coordination.notify import sending

    primary, _backup = on_duty_in_dongguan
    services.language_set(actor=None, officer=primary, language="en")
    flood()
    sending.send_due()
    mail = smtp.to("primary@dg.example")
    assert len(mail) == 1
    assert "acknowledge" in smtp.text(mail[0]) and "Dongguan" in smtp.text(mail[0])
    row = Notification.objects.get(recipient=primary, channel="email")
    assert row.params["language"] == "en"


def test_the_acknowledgement_page_speaks_the_persons_language(officer_with, flood):
    from coordination.notify.links import token_for

    officer = officer_with("dg-op-en", role="operator", contacts=[("email", "op-en@dg.example", 5)])
    flood()
    row = Notification.objects.get(recipient=officer)
    assert "确认" in Client().get(f"/ack/{token_for(row.pk)}/").content.decode()
    services.language_set(actor=None, officer=officer, language="en")  # chosen after it was sent
    assert "Acknowledge" in Client().get(f"/ack/{token_for(row.pk)}/").content.decode()
