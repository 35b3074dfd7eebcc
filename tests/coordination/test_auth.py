from datetime import timedelta

import pytest
from django.utils import timezone

from coordination.models import AccessToken, AuditEntry
from tests.conftest import SHENZHEN

pytestmark = pytest.mark.django_db


def test_it_works_with_a_bearer_token(api_as):
    response = api_as(SHENZHEN).get("/api/v1/clusters/GBA/")
    assert response.status_code == 200
    assert response.json()["code"] == "GBA"


def test_it_refuses_no_credentials(anonymous, gba):
    response = anonymous.get("/api/v1/clusters/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer ld_nottherightone", "Bearer 令牌"])
def test_it_refuses_malformed_and_unknown_tokens(anonymous, gba, header):
    anonymous.credentials(HTTP_AUTHORIZATION=header)
    response = anonymous.get("/api/v1/clusters/")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/not-authenticated"
    assert AuditEntry.objects.filter(action="auth.bad_token").exists()


def test_it_refuses_a_revoked_token(api_as):
    from coordination.services import token_revoke

    client = api_as(SHENZHEN)
    assert client.get("/api/v1/clusters/").status_code == 200
    token_revoke(token=AccessToken.objects.get(prefix=client.token[:9]))
    assert client.get("/api/v1/clusters/").status_code == 401


def test_it_refuses_an_expired_officer_token(api_as):
    client = api_as(SHENZHEN, role="viewer")
    AccessToken.objects.filter(user__isnull=False).update(expires_at=timezone.now() - timedelta(seconds=1))
    from coordination import authentication

    authentication._token_cache.clear()
    assert client.get("/api/v1/clusters/").status_code == 401


def test_it_rate_limits_token_guessing(anonymous, gba, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "bad_credentials": "3/min"}}
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer ld_guess")
    statuses = [anonymous.get("/api/v1/clusters/").status_code for _ in range(5)]
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    response = anonymous.get("/api/v1/clusters/")
    assert int(response["Retry-After"]) > 0


def test_officers_log_in_for_a_token_and_out_again(make_officer, anonymous):
    make_officer("chen", SHENZHEN, "commander")
    response = anonymous.post("/api/v1/auth/token/", {"username": "chen", "password": "pw-Secret-123"},
                              format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    anonymous.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert anonymous.get("/api/v1/clusters/").status_code == 200
    assert anonymous.delete("/api/v1/auth/token/").status_code == 204
    assert anonymous.get("/api/v1/clusters/").status_code == 401


def test_a_wrong_password_gets_401_and_is_audited(make_officer, anonymous):
    make_officer("chen", SHENZHEN)
    response = anonymous.post("/api/v1/auth/token/", {"username": "chen", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert AuditEntry.objects.filter(action="auth.login_failed").exists()


def test_token_login_is_rate_limited(make_officer, anonymous, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "token_login": "2/min"}}
    statuses = [
        anonymous.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json").status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_api_client_scopes_limit_what_it_may_do(principal_for):
    from coordination.roles import Action

    reader = principal_for(SHENZHEN, scopes=["read"])
    assert reader.can(Action.READ) and not reader.can(Action.REPORT_INCIDENT)
    writer = principal_for(SHENZHEN, scopes=["read", "incidents:write"])
    assert writer.can(Action.REPORT_INCIDENT) and not writer.can(Action.ACKNOWLEDGE)
    nothing = principal_for(SHENZHEN, scopes=["ack"])
    assert not nothing.can(Action.READ)


def test_a_client_without_read_scope_gets_403(api_as):
    response = api_as(SHENZHEN, scopes=["ack"]).get("/api/v1/clusters/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_roles_are_ordered(principal_for):
    from coordination.roles import Action

    viewer = principal_for(SHENZHEN, role="viewer")
    commander = principal_for(SHENZHEN, role="commander")
    coordinator = principal_for(SHENZHEN, role="coordinator")
    assert not viewer.can(Action.REPORT_INCIDENT)
    assert commander.can(Action.TRANSITION_INCIDENT) and not commander.can(Action.MANAGE_SHARING)
    assert coordinator.can(Action.MANAGE_SHARING) and coordinator.is_coordinator


def test_the_audit_log_is_append_only(gba):
    from django.db import transaction

    from coordination.audit import audit_record

    with transaction.atomic():
        entry = audit_record(actor=None, action="test.thing")
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.update(action="changed")


def test_last_use_is_recorded(api_as):
    client = api_as(SHENZHEN)
    client.get("/api/v1/clusters/")
    assert AccessToken.objects.get(prefix=client.token[:9]).last_used_at is not None
