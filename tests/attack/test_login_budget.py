"""Password guessing has one budget per address and one per account, shared by both ways in
(POST /api/v1/auth/token/ and the web form at /login/), and the address is the project's own
reading of it (coordination.authentication.client_ip) for every limit: a forged
X-Forwarded-For buys no fresh budget unless the deployment trusts its proxy, and behind a
trusted proxy a guesser spreading over addresses still meets the account's budget."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from coordination.models import AccessToken
from tests.attack.conftest import tally
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = [pytest.mark.attack, pytest.mark.django_db]

PASSWORD = "pw-Secret-123"  # make_officer's
LIMIT = 3


@pytest.fixture
def budget(settings):
    rates = {"token_login": f"{LIMIT}/min", "principal": f"{LIMIT}/min"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates}}
    settings.TRUST_X_FORWARDED_FOR = False


def api_login(username: str, password: str, *, address: str = "198.51.100.20", **headers) -> int:
    client = APIClient(REMOTE_ADDR=address)
    return client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json",
                       **headers).status_code


def web_login(username: str, password: str, *, address: str = "198.51.100.20", **headers) -> str:
    """'in', 'refused' (wrong password) or 'limited' (too many attempts)."""
    response = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en").post(
        "/login/", {"username": username, "password": password}, **headers)
    if response.status_code == 302:
        return "in"
    page = response.content.decode()
    return "limited" if "Too many login attempts" in page else "refused"


def test_a_forged_x_forwarded_for_buys_no_fresh_budget(make_officer, budget):
    make_officer("guessed", SHENZHEN, "viewer")
    answers = [api_login("guessed", f"wrong-{n}") for n in range(LIMIT)]
    answers.append(api_login("guessed", "wrong-again", HTTP_X_FORWARDED_FOR="203.0.113.7"))
    answers.append(api_login("guessed", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8"))
    answers.append(api_login("guessed", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9, 203.0.113.10"))
    web = web_login("guessed", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.11")
    # Other throttles read the address the same way: anonymous calls to the schema.
    schema = [APIClient(REMOTE_ADDR="198.51.100.30").get("/api/schema/", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
              .status_code for n in range(LIMIT + 1)]
    failures = []
    if answers != [401] * LIMIT + [429] * 3:
        failures.append(("token endpoint", answers))
    if web != "limited":
        failures.append(("web form", web))
    if AccessToken.objects.filter(user__username="guessed").exists():
        failures.append("a token was issued")
    if schema != [200] * LIMIT + [429]:
        failures.append(("schema", schema))
    tally("login budget", cases=len(answers) + 1 + len(schema), failures=len(failures))
    assert failures == [], failures


@pytest.mark.parametrize("first", ["web form", "token endpoint"])
def test_the_web_form_and_the_token_endpoint_spend_one_budget_per_address(make_officer, budget, first):
    make_officer("alice", SHENZHEN, "viewer")
    make_officer("bob", DONGGUAN, "viewer")
    # Different accounts, so only the address's budget is in play.
    if first == "web form":
        spent = [web_login("alice", f"wrong-{n}") for n in range(LIMIT)]
        then = [api_login("bob", "wrong"), api_login("bob", PASSWORD)]
        ok = spent == ["refused"] * LIMIT and then == [429, 429]
    else:
        spent = [api_login("alice", f"wrong-{n}") for n in range(LIMIT)]
        then = [web_login("bob", "wrong"), web_login("bob", PASSWORD)]
        ok = spent == [401] * LIMIT and then == ["limited", "limited"]
    # Another address is not held back.
    elsewhere = api_login("bob", PASSWORD, address="198.51.100.21")
    ok = ok and elsewhere == 201
    tally("login budget", cases=len(spent) + len(then) + 1, failures=int(not ok))
    assert ok, (spent, then, elsewhere)


def test_an_account_has_one_budget_across_addresses_behind_a_trusted_proxy(make_officer, budget, settings):
    settings.TRUST_X_FORWARDED_FOR = True
    make_officer("carol", SHENZHEN, "viewer")
    make_officer("dave", SHENZHEN, "viewer")
    proxy = "10.0.0.2"
    spread = [api_login("carol", f"wrong-{n}", address=proxy, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
              for n in range(LIMIT)]
    after = [api_login("carol", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.50"),
             web_login("carol", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.51")]
    # The same addresses may still log in to another account: the account's budget is spent,
    # not theirs.
    other = api_login("dave", PASSWORD, address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.0")
    # Behind the proxy, the address is the one the proxy saw (the last entry): what the client
    # wrote before it is its own invention.
    forged = [api_login("dave", f"wrong-{n}", address=proxy, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.60")
              for n in range(LIMIT + 1)]
    ok = spread == [401] * LIMIT and after == [429, "limited"] and other == 201 and forged[-1] == 429
    tally("login budget", cases=len(spread) + len(after) + 1 + len(forged), failures=int(not ok))
    assert ok, (spread, after, other, forged)


@pytest.mark.parametrize("trusted", [False, True])
def test_the_websocket_handshake_reads_the_address_as_every_other_limit(settings, trusted, rf):
    """The stream counts bad tokens per address too (coordination.authentication): the same
    address as an HTTP request from the same place, proxy or not."""
    from coordination.authentication import client_ip, scope_client_ip

    settings.TRUST_X_FORWARDED_FOR = trusted
    forwarded = "192.0.2.1, 203.0.113.9"
    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    scope = {"client": ("10.0.0.2", 50000), "headers": [(b"x-forwarded-for", forwarded.encode())]}
    expected = "203.0.113.9" if trusted else "10.0.0.2"
    ok = client_ip(request) == scope_client_ip(scope) == expected
    tally("login budget", cases=1, failures=int(not ok))
    assert ok, (client_ip(request), scope_client_ip(scope))
