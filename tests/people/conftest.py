import base64

import pytest

from tests.conftest import SHENZHEN


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# A subscription as a browser's PushSubscription.toJSON() gives it (the keys' shapes are what
# is checked: a P-256 point, uncompressed, and a 16-byte secret).
SUBSCRIPTION = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc123", "expirationTime": None,
                "keys": {"p256dh": b64url(b"\x04" + bytes(range(64))), "auth": b64url(bytes(range(16)))}}


@pytest.fixture
def sz_officer(make_officer):
    return make_officer("sz-duty", SHENZHEN, "operator")


@pytest.fixture(autouse=True)
def english():
    """Services and the contract speak the active language: these tests read English, except
    where a test switches (the API answers in the caller's language)."""
    from django.utils import translation

    with translation.override("en"):
        yield
