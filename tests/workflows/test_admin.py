"""Playbooks edited in the admin go through the same validation and services as the API."""

import json

import pytest
from django.contrib.auth import get_user_model

from coordination.models import AuditEntry
from coordination.workflows.models import Playbook

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, gba):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw-Secret-123")
    client.force_login(user)
    return client


def form(definition) -> dict:
    return {"code": "factory-fire", "name_zh": "工厂火灾", "name_en": "Factory fire", "description": "",
            "definition": json.dumps(definition), "is_active": "on"}


def test_a_bad_definition_is_refused_in_the_admin_with_the_reason(admin_client):
    bad = {"trigger": {"categories": ["accident"]}, "steps": [{"kind": "wait", "duration": "soon"}]}
    response = admin_client.post("/admin/workflows/playbook/add/", form(bad))
    assert response.status_code == 200  # the form again, with its errors
    assert "definition.steps.0.duration" in response.content.decode()
    assert not Playbook.objects.exists()


def test_a_playbook_saved_in_the_admin_is_validated_and_audited(admin_client):
    good = {"trigger": {"categories": ["accident"], "types": ["fire"], "clusters": ["GBA"]},
            "steps": [{"kind": "notify", "to": ["affected"]}]}
    response = admin_client.post("/admin/workflows/playbook/add/", form(good))
    assert response.status_code == 302, response.content.decode()[:2000]
    playbook = Playbook.objects.get(code="factory-fire")
    assert playbook.definition["steps"][0]["id"] == "1-notify" and playbook.clusters == ",GBA,"
    assert AuditEntry.objects.filter(action="playbook.created", object_id="factory-fire").exists()
    response = admin_client.post(f"/admin/workflows/playbook/{playbook.pk}/change/",
                                 {**form({**good, "escalation": {"I": "5m", "II": "10m", "III": "20m", "IV": "40m"}}),
                                  "code": "ignored"})
    assert response.status_code == 302
    playbook.refresh_from_db()
    assert playbook.version == 2 and playbook.code == "factory-fire"
