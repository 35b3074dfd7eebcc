from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from coordination.authentication import token_digest
from coordination.models import AccessToken, ApiClient, Membership
from tests.conftest import SHENZHEN

pytestmark = pytest.mark.django_db


def test_create_api_client_prints_the_token_alone_on_the_last_line(gba):
    out = StringIO()
    call_command("create_api_client", "sz-city", "--jurisdiction", SHENZHEN, "--scopes", "read,ack", stdout=out,
                 stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    assert token.startswith("ld_") and " " not in token
    client = ApiClient.objects.get(name="sz-city")
    assert client.scopes == ["read", "ack"]
    stored = AccessToken.objects.get(client=client)
    assert stored.digest == token_digest(token)


def test_tokens_are_not_stored_in_clear_text_anywhere(gba):
    out = StringIO()
    call_command("create_api_client", "sz-city", "--jurisdiction", SHENZHEN, stdout=out, stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    from django.db import connection

    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert not any(isinstance(v, str) and token in v for v in row), table


def test_create_api_client_refuses_unknown_scopes_and_jurisdictions(gba):
    with pytest.raises(CommandError, match="Unknown scopes"):
        call_command("create_api_client", "x", "--jurisdiction", SHENZHEN, "--scopes", "read,godmode",
                     stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="Unknown jurisdiction"):
        call_command("create_api_client", "x", "--jurisdiction", "999999", stdout=StringIO(), stderr=StringIO())


def test_create_officer_makes_a_member_who_can_log_in(gba, client):
    call_command("create_officer", "li.wei", "--jurisdiction", SHENZHEN, "--role", "commander", "--password",
                 "Long-enough-1", stdout=StringIO())
    membership = Membership.objects.get(user__username="li.wei")
    assert (membership.jurisdiction_id, membership.role) == (SHENZHEN, "commander")
    assert client.login(username="li.wei", password="Long-enough-1")


def test_create_officer_generates_and_prints_a_password(gba):
    out = StringIO()
    call_command("create_officer", "wang", "--jurisdiction", SHENZHEN, "--role", "viewer", stdout=out)
    assert "Password: " in out.getvalue()


def test_import_boundaries_reports_bad_features_and_keeps_good_ones(gba, tmp_path):
    import json

    good = {"type": "Feature", "properties": {"adcode": 440300},
            "geometry": {"type": "Polygon", "coordinates": [[[113.8, 22.5], [114.6, 22.5], [114.6, 22.9],
                                                              [113.8, 22.9], [113.8, 22.5]]]}}
    bowtie = {"type": "Feature", "properties": {"code": "441900"},
              "geometry": {"type": "Polygon", "coordinates": [[[113.5, 22.8], [114.2, 23.2], [114.2, 22.8],
                                                                [113.5, 23.2], [113.5, 22.8]]]}}
    unknown = {"type": "Feature", "properties": {"code": "999999"}, "geometry": good["geometry"]}
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [good, bowtie, unknown]}))
    out = StringIO()
    with pytest.raises(CommandError, match="2 feature"):
        call_command("import_boundaries", str(path), "--no-progress", stdout=out)
    text = out.getvalue()
    assert "feature 1: skipped: Invalid polygon" in text
    assert "feature 2: skipped: unknown jurisdiction 999999" in text
    from coordination.models import Jurisdiction

    assert Jurisdiction.objects.get(code="440300").boundary_source == "imported"
    assert Jurisdiction.objects.get(code="441900").boundary_source == "approximate"
    # The demo loader never replaces an imported (real) boundary with its approximation.
    call_command("load_demo", stdout=StringIO())
    assert Jurisdiction.objects.get(code="440300").boundary_source == "imported"
