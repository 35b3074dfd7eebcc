"""Who may end which token (docs/tokens.md): DELETE /api/v1/auth/token/ logs an officer out;
an API client's tokens are a city system's credential, issued and revoked by the deployment's
administrators, so the officers' endpoint refuses a client (403) and its token keeps working."""

import pytest

from coordination.models import AccessToken
from tests.attack.conftest import tally
from tests.conftest import SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.django_db]


def test_an_api_client_cannot_revoke_its_token_through_the_officers_logout(api_as):
    system = api_as(SHENZHEN)
    officer = api_as(SHENZHEN, role="operator")
    refused = system.delete("/api/v1/auth/token/")
    still = system.get("/api/v1/clusters/").status_code
    logged_out = officer.delete("/api/v1/auth/token/").status_code
    after = officer.get("/api/v1/clusters/").status_code
    failures = []
    if refused.status_code != 403 or not refused["Content-Type"].startswith("application/problem+json"):
        failures.append(("client's DELETE", refused.status_code))
    if still != 200 or not AccessToken.objects.filter(client__isnull=False, revoked_at__isnull=True).exists():
        failures.append(("client's token after", still))
    if (logged_out, after) != (204, 401):
        failures.append(("officer's logout", logged_out, after))
    tally("token revocation", cases=4, failures=len(failures))
    assert failures == [], failures
