import pytest

from tests.conftest import SHENZHEN


@pytest.fixture
def sz_roster(gba):
    from coordination.duty.services import roster_ensure
    from coordination.models import Jurisdiction

    roster, _ = roster_ensure(actor=None, jurisdiction=Jurisdiction.objects.get(code=SHENZHEN))
    return roster


@pytest.fixture
def sz_people(make_officer):
    """Four officers of Shenzhen: a (with an e-mail address), b, c, d (without)."""
    from coordination.services import officer_create

    a, _ = officer_create(username="duty-a", jurisdiction_code=SHENZHEN, role="operator", password="pw-Secret-123",
                          email="Duty.A@sz.example")
    return {"a": a, "b": make_officer("duty-b", SHENZHEN), "c": make_officer("duty-c", SHENZHEN),
            "d": make_officer("duty-d", SHENZHEN)}


@pytest.fixture(autouse=True)
def english():
    """Services called directly speak the active language (zh-hans by default): these tests
    read their messages in English. The API answers in the caller's language (test_api)."""
    from django.utils import translation

    with translation.override("en"):
        yield
