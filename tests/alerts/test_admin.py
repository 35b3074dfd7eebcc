"""The admin shows alerts and the documents as received, and edits nothing."""

import pytest
from django.contrib.auth import get_user_model

from incidents.alerts.models import Alert
from tests.alerts.capdocs import cap_document, post_cap
from tests.conftest import ZHUHAI

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("zhuhai_senders")]


@pytest.fixture
def admin_client(client, gba):
    user = get_user_model().objects.create_superuser("root", "root@example.cn", "pw-Secret-123")
    client.force_login(user)
    return client


def test_it_lists_and_shows_alerts_read_only(admin_client, api_as):
    post_cap(api_as(ZHUHAI), cap_document("ZH-ADMIN"))
    alert = Alert.objects.get()

    assert b"ZH-ADMIN" in admin_client.get("/admin/alerts/alert/").content
    page = admin_client.get(f"/admin/alerts/alert/{alert.pk}/change/")
    assert page.status_code == 200
    assert "台风橙色预警信号".encode() in page.content and b"&lt;identifier&gt;ZH-ADMIN" in page.content
    assert admin_client.get("/admin/alerts/alert/add/").status_code == 403
    assert admin_client.post(f"/admin/alerts/alert/{alert.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Alert.objects.count() == 1
