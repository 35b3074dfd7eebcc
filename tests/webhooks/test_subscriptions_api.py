"""/api/v1/webhook-subscriptions/: a client's subscriptions, their secrets and delivery logs."""

import pytest

from sharing.webhooks.models import Delivery, DeliveryState, Subscription
from sharing.webhooks.signing import secret_for
from tests.conftest import DONGGUAN, SHENZHEN

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-subscriptions/"


def subscribe(client, receiver_url, **extra):
    return client.post(URL, {"url": receiver_url, "events": ["incident.*"], **extra}, format="json")


def test_it_creates_a_subscription_and_shows_the_secret_once(api_as, receiver):
    client = api_as(SHENZHEN)
    response = subscribe(client, receiver().url, filters={"level_at_least": "II"}, description="EOC")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["is_active"] is True
    assert body["filters"] == {"categories": None, "level_at_least": "II", "jurisdictions": None}
    assert body["events"] == ["incident.*"]
    stored = Subscription.objects.get()
    assert body["secret"] == secret_for(stored.secret_salt) and body["secret"] not in str(stored.__dict__)
    shown = client.get(f"{URL}{body['id']}/").json()
    assert "secret" not in shown and shown["id"] == body["id"]


def test_it_lists_only_the_callers_subscriptions_and_hides_the_others(api_as, receiver):
    mine, theirs = api_as(SHENZHEN), api_as(DONGGUAN)
    own = subscribe(mine, receiver().url).json()["id"]
    foreign = subscribe(theirs, receiver().url).json()["id"]
    assert [item["id"] for item in mine.get(URL).json()["results"]] == [own]
    for method in ("get", "patch", "delete"):
        assert getattr(mine, method)(f"{URL}{foreign}/", {}, format="json").status_code == 404
    assert mine.post(f"{URL}{foreign}/rotate-secret/").status_code == 404
    assert mine.get(f"{URL}{foreign}/deliveries/").status_code == 404


def test_officers_have_no_subscriptions(api_as, receiver):
    officer = api_as(SHENZHEN, role="commander")
    assert officer.get(URL).status_code == 403
    assert subscribe(officer, receiver().url).status_code == 403


def test_a_client_without_the_read_scope_may_not_subscribe(api_as, receiver):
    assert subscribe(api_as(SHENZHEN, scopes=["incidents:write"]), receiver().url).status_code == 403


@pytest.mark.parametrize("url,reason", [
    ("ftp://example.org/hook", "scheme"),
    ("http://user:pw@127.0.0.1:9/hook", "credentials"),
    ("http:///nohost", "host"),
    ("http://169.254.169.254/latest/meta-data/", "may not reach"),
    ("http://[::ffff:169.254.169.254]/x", "may not reach"),
    ("http://0.0.0.0:8000/", "may not reach"),
    ("http://no-such-host.invalid/hook", "does not resolve"),
    ("http://127.0.0.1:99999/", "valid URL"),
    ("not a url", "scheme"),
])
def test_it_refuses_bad_and_dangerous_urls(api_as, url, reason):
    response = subscribe(api_as(SHENZHEN), url)
    assert response.status_code == 400
    assert reason in response.json()["errors"]["url"][0]


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://10.1.2.3/hook", "http://localhost/hook",
                                 "http://[::1]/hook", "http://192.168.1.20/hook"])
def test_private_and_loopback_urls_are_refused_unless_allowed(api_as, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = subscribe(api_as(SHENZHEN), url)
    assert response.status_code == 400 and "may not reach" in response.json()["errors"]["url"][0]
    settings.WEBHOOK_ALLOW_PRIVATE = True
    assert subscribe(api_as(SHENZHEN), url).status_code == 201


@pytest.mark.parametrize("payload,field", [
    ({"events": []}, "events"),
    ({"events": ["no.such_event"]}, "events"),
    ({"events": ["nosuchdomain.*"]}, "events"),
    ({"events": ["incident*"]}, "events"),
    ({"events": "incident.created"}, "events"),
    ({"filters": {"categories": ["volcano"]}}, "filters.categories"),
    ({"filters": {"level_at_least": "V"}}, "filters.level_at_least"),
    ({"filters": {"jurisdictions": ["44"]}}, "filters.jurisdictions"),
    ({"url": "x" * 2001}, "url"),
    ({"description": "d" * 201}, "description"),
    ({"secret": "mine"}, "secret"),  # unknown fields are refused, not ignored
    ({"filters": {"level": "II"}}, "filters.level"),
])
def test_bad_subscriptions_are_problem_details_naming_the_field(api_as, receiver, payload, field):
    body = {"url": receiver().url, "events": ["incident.*"], **payload}
    response = api_as(SHENZHEN).post(URL, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"], response.json()


def test_a_client_has_a_bounded_number_of_subscriptions(api_as, receiver, settings):
    settings.WEBHOOK_MAX_SUBSCRIPTIONS_PER_CLIENT = 2
    client, url = api_as(SHENZHEN), receiver().url
    assert [subscribe(client, url).status_code for _ in range(3)] == [201, 201, 400]


def test_it_updates_and_pausing_cancels_what_was_pending(api_as, receiver):
    client = api_as(SHENZHEN)
    created = subscribe(client, receiver().url).json()
    subscription = Subscription.objects.get()
    Delivery.objects.create(subscription=subscription, event_seq=1, event_name="incident.created", body="{}",
                            next_attempt_at=subscription.created_at)
    response = client.patch(f"{URL}{created['id']}/", {"is_active": False, "events": ["*"]}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert response.json()["events"] == ["*"]
    assert Delivery.objects.get().state == DeliveryState.CANCELLED
    Subscription.objects.update(consecutive_failures=9)
    resumed = client.patch(f"{URL}{created['id']}/", {"is_active": True}, format="json").json()
    assert (resumed["is_active"], resumed["consecutive_failures"], resumed["disabled_at"]) == (True, 0, None)


def test_rotating_the_secret_shows_the_new_one_and_keeps_the_old_for_a_while(api_as, receiver):
    client = api_as(SHENZHEN)
    created = subscribe(client, receiver().url).json()
    rotated = client.post(f"{URL}{created['id']}/rotate-secret/").json()
    assert rotated["secret"] != created["secret"] and rotated["previous_secret_until"]
    stored = Subscription.objects.get()
    assert secret_for(stored.previous_secret_salt) == created["secret"]


def test_deleting_removes_it_and_its_log(api_as, receiver):
    client = api_as(SHENZHEN)
    created = subscribe(client, receiver().url).json()
    assert client.delete(f"{URL}{created['id']}/").status_code == 204
    assert not Subscription.objects.exists()


def test_the_delivery_log_is_paged_newest_first_in_constant_queries(api_as, receiver, django_assert_num_queries):
    client = api_as(SHENZHEN)
    created = subscribe(client, receiver().url).json()
    subscription = Subscription.objects.get()
    Delivery.objects.bulk_create([
        Delivery(subscription=subscription, event_seq=n, event_name="incident.created", body="{}",
                 next_attempt_at=subscription.created_at, state=DeliveryState.FAILED if n % 2 else "delivered")
        for n in range(1, 31)
    ])
    client.get(f"{URL}{created['id']}/deliveries/")  # token cached by the process
    for size in (5, 30):
        # the subscription, the count, the page
        with django_assert_num_queries(3):
            page = client.get(f"{URL}{created['id']}/deliveries/?page_size={size}").json()
        assert len(page["results"]) == size and page["count"] == 30
    failed = client.get(f"{URL}{created['id']}/deliveries/?state=failed").json()
    assert failed["count"] == 15 and {item["state"] for item in failed["results"]} == {"failed"}
    assert client.get(f"{URL}{created['id']}/deliveries/?state=lost").status_code == 400


def test_a_malformed_id_is_a_404(api_as):
    assert api_as(SHENZHEN).get(f"{URL}not-a-uuid/").status_code == 404
