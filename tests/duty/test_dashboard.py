"""The dashboard's "On duty now" card: the officer's own jurisdiction's roster, in their language."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from coordination.duty.services import override_create, shift_create
from tests.conftest import DONGGUAN

pytestmark = pytest.mark.django_db


def page_of(user, language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_dashboard_says_who_is_on_duty_now(sz_roster, sz_people, make_officer):
    now = timezone.now()
    shift_create(actor=None, roster=sz_roster, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=1),
                 primary="duty-b", backups=["duty-c"])
    override_create(actor=None, roster=sz_roster, starts_at=now - timedelta(hours=1),
                    ends_at=now + timedelta(hours=1), replaced="duty-c", substitute="duty-d")
    zh = page_of(sz_people["a"], "zh-hans")
    assert "当前值班" in zh and "duty-b" in zh and "主班" in zh and "代 duty-c 值班" in zh
    en = page_of(sz_people["a"], "en")
    assert "On duty now" in en and "in place of duty-c" in en
    assert "On duty now" not in page_of(make_officer("dg-1", DONGGUAN), "en")  # Dongguan has no roster


def test_a_roster_with_nobody_on_it_now_says_so(sz_roster, sz_people):
    assert "Nobody is on duty now." in page_of(sz_people["a"], "en")
