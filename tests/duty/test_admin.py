"""The admin shows a roster with its shifts and overrides inline and writes none of them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.duty.services import override_create, shift_create

pytestmark = pytest.mark.django_db


def test_a_roster_with_its_shifts_read_only(admin_client, sz_roster, sz_people):
    now = timezone.now()
    shift_create(actor=None, roster=sz_roster, starts_at=now, ends_at=now + timedelta(hours=8), primary="duty-a",
                 backups=["duty-b", "duty-c"])
    override_create(actor=None, roster=sz_roster, starts_at=now, ends_at=now + timedelta(hours=1),
                    replaced="duty-a", substitute="duty-d")
    page = admin_client.get(f"/admin/duty/roster/{sz_roster.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "duty-b, duty-c" in text and "duty-d" in text
    assert 'name="shifts-TOTAL_FORMS"' in text  # the inline is there ...
    assert 'name="shifts-0-primary"' not in text  # ... with nothing to edit
    assert admin_client.get("/admin/duty/roster/").status_code == 200
    assert admin_client.get("/admin/duty/roster/add/").status_code == 200
