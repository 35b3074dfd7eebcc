"""The admin lists and edits contact methods with the secret masked: never shown, kept when the
field is left empty, checked by the contract when typed."""

import pytest

from coordination.people import services
from coordination.people.models import ContactMethod

pytestmark = pytest.mark.django_db

ROBOT = "https://oapi.dingtalk.com/robot/send?access_token=tok-123"


def test_the_secret_is_masked_and_kept(admin_client, sz_officer):
    method = services.contact_add(actor=None, officer=sz_officer, channel="dingtalk", address=ROBOT,
                                  secret="SECtopsecret")
    listing = admin_client.get("/admin/people/contactmethod/")
    assert listing.status_code == 200
    assert "SECtopsecret" not in listing.content.decode() and "••••••" in listing.content.decode()
    url = f"/admin/people/contactmethod/{method.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "SECtopsecret" not in page.content.decode()
    form = {"officer": sz_officer.pk, "channel": "dingtalk", "address": ROBOT, "secret": "", "label": "ops room",
            "position": 0, "wait_minutes": 5, "active": "on"}
    assert admin_client.post(url, form).status_code == 302
    method.refresh_from_db()
    assert (method.label, method.secret) == ("ops room", "SECtopsecret")
    refused = admin_client.post(url, {**form, "address": "https://evil.example/robot/send?access_token=x"})
    assert refused.status_code == 200 and "webhook" in refused.content.decode().lower()
    assert ContactMethod.objects.get(pk=method.pk).address == ROBOT
    assert admin_client.get("/admin/people/notificationpolicy/").status_code == 200
